"""The ``usage`` service: counts finished sessions and evaluations, written behind.

It follows the bus — ``SessionEnded`` for every session however it ended,
:class:`~.events.EvaluationGiven` for every rating — and adds to counters in memory
(bounded: a failing disk never grows them without end); its task writes them to
SQLite off the loop, so neither a session nor the D-Bus API waits for the disk.
Once a day it deletes the counts older than ``keep_days``. While the disk refuses
writes (full) the counts wait in memory, the service keeps running and tries again
every :data:`RETRY` seconds and at every new count; the frequent items are ranked from
what is on disk plus what waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from typing import Callable, List, Mapping, Sequence

from ..bus import EventBus
from ..session.state import SessionEnded
from ..supervisor import Service
from ..timeouts import wait_for
from .events import EvaluationGiven
from .levels import check
from .settings import EvaluationSettings
from .store import EvaluationKey, SessionKey, UsageStore, day, first_day

_LOGGER = logging.getLogger(__name__)

#: Distinct keys waiting for the disk; past this new counts are dropped (and logged).
PENDING_MAX = 10_000
#: How often the service looks whether a new day needs old counts deleted.
PURGE_CHECK = 3600.0
#: How soon counts that could not be written are tried again.
RETRY = 30.0


class UsageCounter(Service):
    name = "usage"

    def __init__(
        self,
        usage: UsageStore,
        bus: EventBus,
        settings: Callable[[], EvaluationSettings],
    ) -> None:
        self.usage = usage
        self._bus = bus
        self._settings = settings
        self._today = usage.today
        self._sessions: Counter[SessionKey] = Counter()
        self._evaluations: Counter[EvaluationKey] = Counter()
        self.dropped = 0
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        self._purged = ""
        self._failing = False
        self._unsubscribers = [
            bus.subscribe(SessionEnded, self._on_ended),
            bus.subscribe(EvaluationGiven, self._on_evaluated),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    # Counting ----------------------------------------------------------------------
    def _room(self) -> bool:
        if len(self._sessions) + len(self._evaluations) < PENDING_MAX:
            return True
        self.dropped += 1
        if self.dropped == 1:
            _LOGGER.warning("usage: counts are not reaching the disk; new ones are dropped")
        return False

    def _on_ended(self, event: SessionEnded) -> None:
        if self._room():
            self._sessions[(day(self._today()), event.item_code, event.outcome)] += 1
            self._wake.set()

    def _on_evaluated(self, event: EvaluationGiven) -> None:
        if self._room():
            today = day(self._today())
            self._evaluations[(today, event.item_code, event.level, "")] += 1
            for reason in event.reasons:
                self._evaluations[(today, event.item_code, event.level, reason)] += 1
            self._wake.set()

    def evaluated(self, item_code: str, level: int, reasons: Sequence[str]) -> None:
        """Count a rating of a session of ``item_code``; ``InvalidEvaluationError``
        (nothing counted) when the level or a reason is not allowed."""
        self._bus.publish(EvaluationGiven(item_code, level, check(level, reasons)))

    # Reading -----------------------------------------------------------------------
    async def frequent(self, codes: Sequence[str], count: int) -> List[str]:
        """Of ``codes`` (the items a citizen may choose now, in catalogue order), the
        ``count`` most completed over the last ``frequent_days``, most first, then the
        configured defaults."""
        settings = self._settings()
        await self._try_flush()
        since = first_day(self._today(), settings.frequent_days)
        counts = Counter(await self.usage.completed(since))
        for (when, code, outcome), n in self._sessions.items():  # not on disk yet
            if outcome == "done" and when >= since:
                counts[code] += n
        return rank(codes, counts, settings.frequent_default, count)

    # The service -------------------------------------------------------------------
    async def start(self) -> None:
        await self.usage.migrate()
        await self._purge()

    async def serve(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wake.wait(), RETRY if self._failing else PURGE_CHECK)
            self._wake.clear()
            if await self._try_flush():
                await self._purge()

    async def _try_flush(self) -> bool:
        """:meth:`flush`; ``False`` (the counts still waiting) when the disk refuses."""
        try:
            await self.flush()
        except (sqlite3.OperationalError, OSError) as err:
            if not self._failing:
                _LOGGER.warning("usage: counts wait in memory, the disk refuses them: %s", err)
            self._failing = True
            return False
        if self._failing:
            _LOGGER.info("usage: counts written again")
        self._failing = False
        return True

    async def stop(self) -> None:
        try:
            await self.flush()
        except Exception:
            _LOGGER.exception("usage: counts not written at stop")

    async def flush(self) -> None:
        """Write the counts waiting in memory; they stay waiting if the write fails."""
        async with self._writing:
            if not (self._sessions or self._evaluations):
                return
            sessions, self._sessions = self._sessions, Counter()
            evaluations, self._evaluations = self._evaluations, Counter()
            try:
                await self.usage.add(sessions, evaluations)
            except BaseException:
                self._sessions.update(sessions)
                self._evaluations.update(evaluations)
                raise

    async def _purge(self) -> None:
        today = day(self._today())
        if today != self._purged:
            await self.usage.purge(first_day(self._today(), self._settings().keep_days))
            self._purged = today


def rank(
    codes: Sequence[str], counts: Mapping[str, int], default: Sequence[str], count: int
) -> List[str]:
    """Pure: ``codes`` that have counts, most first (ties in the order of ``codes``),
    then those of ``default`` that are among ``codes``; at most ``count``."""
    order = {code: index for index, code in enumerate(codes)}
    counted = sorted(
        (code for code in codes if counts.get(code, 0) > 0),
        key=lambda code: (-counts[code], order[code]),
    )
    chosen = counted + [c for c in dict.fromkeys(default) if c in order and c not in counted]
    return chosen[:count]
