"""``ItemRegistry``: the lifecycle's ledger, kept in SQLite, and what citizens may see.

Other subsystems reach it as ``runtime.items``: the citizen session reads
:meth:`ItemRegistry.published` / :meth:`ItemRegistry.get_published` (only published
items reach citizens, §7.1.2), ``govkioskctl items`` (over ``cn.govkiosk.Items1``) and
remote ops call the transitions with the caller's role. Every transition runs under one
lock: the pure lifecycle function decides, the outcome is stored in one transaction, and
only then does the ledger in memory change; ``CatalogueChanged`` follows when the
published list did. The first use on a new kiosk publishes the default catalogue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Tuple

from ..bus import AdminAction, Event, EventBus
from ..store import Store
from . import lifecycle
from .catalogue import Catalogue, Item, default_catalogue, load_catalogue, loads_catalogue
from .errors import InvalidRequestError, UnknownItemError, WrongRoleError
from .lifecycle import (
    Application,
    AuditEntry,
    ChangeRequest,
    Evaluation,
    Kind,
    Ledger,
    Outcome,
    VerificationRecord,
)
from .persistence import LedgerStore
from .roles import Role

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueChanged(Event):
    """The published list changed: a publication, an approved revocation or a sync.

    ``codes`` are the items added, replaced by a new version or removed.
    """

    codes: Tuple[str, ...]
    action: str


def _order(item: Item) -> Tuple[bool, int, str]:
    """Table 1 items in the standard's order, then the others by code."""
    return (item.standard_row is None, item.standard_row or 0, item.code)


class ItemRegistry:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        first_catalogue: Callable[[], Catalogue] = default_catalogue,
    ) -> None:
        self._records = LedgerStore(store)
        self._bus = bus
        self._first_catalogue = first_catalogue
        self._ledger: Optional[Ledger] = None
        # Made on first use, inside the running loop (Python 3.8 binds it at construction).
        self._lock: Optional[asyncio.Lock] = None

    # -- what citizens (the session) see ------------------------------------------------

    async def published(self) -> Tuple[Item, ...]:
        """The items a citizen may choose, in display order."""
        ledger = await self._current()
        return tuple(sorted(ledger.published.values(), key=_order))

    async def get_published(self, code: str) -> Item:
        """The published version of ``code``; :class:`UnknownItemError` if it is not published."""
        item = (await self._current()).published.get(code)
        if item is None:
            raise UnknownItemError(f"no published item {code}")
        return item

    # -- what integrators and ops see ---------------------------------------------------

    async def open_requests(self) -> Tuple[ChangeRequest, ...]:
        ledger = await self._current()
        return tuple(sorted(ledger.open.values(), key=lambda r: r.id))

    async def open_request(self, code: str) -> Optional[ChangeRequest]:
        return (await self._current()).open.get(code)

    async def history(self, code: str) -> Tuple[AuditEntry, ...]:
        """Every transition of ``code``, oldest first (§8 e)."""
        await self._current()
        entries = tuple(await self._records.history(code))
        if not entries:
            raise UnknownItemError(f"no item {code} (no history)")
        return entries

    # -- the transitions (§7.1.2) -------------------------------------------------------

    async def apply(
        self, role: Role, kind: Kind, code: str, application: Application
    ) -> ChangeRequest:
        return await self._transition(
            "apply", role, lambda ledger: lifecycle.apply(ledger, role, kind, code, application)
        )

    async def evaluate(self, role: Role, code: str, evaluation: Evaluation) -> ChangeRequest:
        return await self._transition(
            "evaluate", role, lambda ledger: lifecycle.evaluate(ledger, role, code, evaluation)
        )

    async def develop(self, role: Role, code: str, item: Item) -> ChangeRequest:
        return await self._transition(
            "develop", role, lambda ledger: lifecycle.develop(ledger, role, code, item)
        )

    async def develop_from(self, role: Role, code: str, text: str, source: str) -> ChangeRequest:
        """:meth:`develop` with the item taken from a catalogue document (TOML text)."""
        item = loads_catalogue(text, source).get(code)
        if item is None:
            raise InvalidRequestError(f"{source}: no item with code {code}")
        return await self.develop(role, code, item)

    async def verify(self, role: Role, code: str, record: VerificationRecord) -> ChangeRequest:
        return await self._transition(
            "verify", role, lambda ledger: lifecycle.verify(ledger, role, code, record)
        )

    async def publish(self, role: Role, code: str) -> ChangeRequest:
        return await self._transition(
            "publish", role, lambda ledger: lifecycle.publish(ledger, role, code)
        )

    async def sync(self, role: Role, catalogue: Catalogue) -> Tuple[str, ...]:
        """Replace the published list with ``catalogue``; the codes whose item changed."""
        outcome = await self._commit(
            "sync", role, lambda ledger: lifecycle.sync(ledger, role, catalogue)
        )
        return tuple(sorted({e.code for e in outcome.audit}))

    async def sync_text(self, role: Role, text: str, source: str) -> Tuple[str, ...]:
        """:meth:`sync` from a catalogue document (ops send one); checked whole first."""
        return await self.sync(role, loads_catalogue(text, source))

    async def sync_file(self, role: Role, path: Path) -> Tuple[str, ...]:
        loop = asyncio.get_running_loop()
        catalogue = await loop.run_in_executor(None, load_catalogue, path)
        return await self.sync(role, catalogue)

    # -- machinery ----------------------------------------------------------------------

    async def _transition(
        self, action: str, role: Role, change: Callable[[Ledger], Outcome]
    ) -> ChangeRequest:
        return (await self._commit(action, role, change)).requests[0]

    async def _commit(
        self, action: str, role: Optional[Role], change: Callable[[Ledger], Outcome]
    ) -> Outcome:
        async with self._guard():
            before = await self._load()
            try:
                outcome = change(before)
            except WrongRoleError as err:
                _LOGGER.warning("items: refused %s: %s", action, err)
                raise
            outcome = await self._save(before, outcome)
        after = outcome.ledger.published
        changed = tuple(
            sorted(
                code
                for code in set(before.published) | set(after)
                if before.published.get(code) != after.get(code)
            )
        )
        for entry in outcome.audit:
            self._bus.publish(
                AdminAction(
                    "item",
                    entry.action,
                    {
                        "code": entry.code,
                        "role": entry.role,
                        "from": entry.from_state or "",
                        "to": entry.to_state,
                        "version": entry.version,
                    },
                )
            )
            _LOGGER.info(
                "items: %s %s by %s: %s -> %s (version %d)",
                entry.code,
                entry.action,
                entry.role,
                entry.from_state or "-",
                entry.to_state,
                entry.version,
            )
        if changed:
            self._bus.publish(CatalogueChanged(changed, action))
        return outcome

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _current(self) -> Ledger:
        if self._ledger is not None:
            return self._ledger
        async with self._guard():
            return await self._load()

    async def _load(self) -> Ledger:
        """The ledger, read from the store on first use (the lock is held)."""
        if self._ledger is not None:
            return self._ledger
        ledger = await self._records.load()
        if ledger is None:
            loop = asyncio.get_running_loop()
            catalogue = await loop.run_in_executor(None, self._first_catalogue)
            empty = Ledger()
            ledger = (await self._save(empty, lifecycle.sync(empty, None, catalogue))).ledger
            _LOGGER.info("items: first catalogue published from %s", catalogue.source)
        self._ledger = ledger
        return ledger

    async def _save(self, before: Ledger, outcome: Outcome) -> Outcome:
        """Stamp the audit, store the outcome, then (only then) take its ledger."""
        now = time.time()
        outcome = replace(outcome, audit=tuple(replace(e, at=now) for e in outcome.audit))
        await self._records.save(before, outcome)
        self._ledger = outcome.ledger
        return outcome
