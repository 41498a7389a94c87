"""The face checks' audit in SQLite: when, which item, the result, the score, the attempt.

Never an image, an embedding or who the citizen was (§8 d): a record says that someone was
verified (or not) for an item at a time, which is what an inspection of the kiosk asks for.
Records are queued in memory (bounded: the newest are kept) and written by the service's
task, so a session never waits for the disk.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable, Deque, List, Tuple

from ..bus import EventBus
from ..store import Store
from ..supervisor import Service
from .face import FaceChecked

COMPONENT = "face_audit"
MIGRATIONS = [
    """
    CREATE TABLE face_checks (
        id        INTEGER PRIMARY KEY,
        at        REAL NOT NULL,
        item_code TEXT NOT NULL,
        result    TEXT NOT NULL,
        score     REAL NOT NULL,
        attempt   INTEGER NOT NULL
    )
    """
]
#: Records waiting for the disk; past this the oldest are dropped (the disk is failing).
QUEUE = 1000

Record = Tuple[float, str, str, float, int]


class FaceAudit(Service):
    name = "face-audit"

    def __init__(self, store: Store, bus: EventBus, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._pending: Deque[Record] = deque(maxlen=QUEUE)
        self._wake = asyncio.Event()
        bus.subscribe(FaceChecked, self._on_checked)

    def _on_checked(self, event: FaceChecked) -> None:
        self._pending.append(
            (self._clock(), event.item_code, event.result, event.score, event.attempt)
        )
        self._wake.set()

    async def start(self) -> None:
        await self._store.migrate(COMPONENT, MIGRATIONS)

    async def serve(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._store.execute(
                    "INSERT INTO face_checks (at, item_code, result, score, attempt)"
                    " VALUES (?, ?, ?, ?, ?)",
                    self._pending[0],
                )
                self._pending.popleft()

    async def recent(self, limit: int = 100) -> List[Record]:
        rows = await self._store.fetchall(
            "SELECT at, item_code, result, score, attempt FROM face_checks"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [tuple(row) for row in rows]
