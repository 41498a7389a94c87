"""Every sealing decision as a record in SQLite: time, port, identity, interfaces, decision, rule.

Identity is VID:PID only: a serial number could tie a record to the citizen who
plugged in their own phone, so it is never stored (§8 d). Records are queued in memory
and written by one task, so enforcement never waits for the disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, List

from ...store import Store

_LOGGER = logging.getLogger(__name__)

COMPONENT = "usbseal"
MIGRATIONS = [
    """
    CREATE TABLE usbseal_audit (
        id         INTEGER PRIMARY KEY,
        at         REAL NOT NULL,
        port       TEXT NOT NULL,
        identity   TEXT NOT NULL,
        interfaces TEXT NOT NULL,
        decision   TEXT NOT NULL,
        rule       TEXT NOT NULL
    );
    CREATE TABLE usbseal_window (
        port       TEXT PRIMARY KEY,
        opened_at  REAL NOT NULL,
        expires_at REAL NOT NULL,
        role       TEXT NOT NULL
    )
    """
]


@dataclass(frozen=True)
class AuditRecord:
    at: float
    port: str
    identity: str  #: ``vvvv:pppp``, or "" for a window or a root hub
    interfaces: str  #: interface codes (``07:01:02 03:01:01``) the decision covers
    decision: str  #: authorized, sealed, resealed (tampering), window-opened …
    rule: str  #: ``usb.rules:12``, "default deny", or who opened a window


class AuditLog:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._pending: Deque[AuditRecord] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    async def migrate(self) -> None:
        await self._store.migrate(COMPONENT, MIGRATIONS)

    def record(self, port: str, identity: str, interfaces: str, decision: str, rule: str) -> None:
        self._pending.append(AuditRecord(self._clock(), port, identity, interfaces, decision, rule))
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Write queued records until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                entry = self._pending[0]
                await self._store.execute(
                    "INSERT INTO usbseal_audit (at, port, identity, interfaces, decision, rule)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        entry.at,
                        entry.port,
                        entry.identity,
                        entry.interfaces,
                        entry.decision,
                        entry.rule,
                    ),
                )
                self._pending.popleft()
            self._idle.set()

    async def flush(self) -> None:
        """Return once every record so far is in the database."""
        await self._idle.wait()

    async def recent(self, limit: int = 1000) -> List[AuditRecord]:
        rows = await self._store.fetchall(
            "SELECT at, port, identity, interfaces, decision, rule FROM usbseal_audit"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [AuditRecord(*row) for row in rows]
