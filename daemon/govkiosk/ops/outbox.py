"""Messages that must reach ops even if the broker is away: results, alarms, rejections.

They wait in SQLite, oldest first, and go out in order once the link is back. The queue
is bounded: when full, the oldest telemetry is dropped first, then the oldest other
message that is not an alarm (a reply, a rejection); alarms are never dropped (the queue
may hold more than its limit when only alarms are left). Drops are counted, and the
count goes out with the next birth message and telemetry so ops knows something was lost.

Telemetry and alarms carry ``seq``, one counter for the kiosk that survives restarts
(:meth:`Outbox.next_sequence`): ops sees a gap where a message was lost and a repeat
where the broker delivered one twice (at least once).
"""

from __future__ import annotations

import asyncio
import logging
from typing import List, Optional, Tuple

from ..store import Store

_LOGGER = logging.getLogger(__name__)

Queued = Tuple[int, str, bytes, bool]

#: Eviction order of a full queue: lower first, oldest first within a rank; alarms never.
_EVICTABLE = (
    "SELECT id FROM ops_outbox WHERE topic NOT LIKE '%/evt/alarm'"
    " ORDER BY CASE WHEN topic LIKE '%/telemetry' THEN 0 ELSE 1 END, id LIMIT ?"
)


class Outbox:
    def __init__(self, store: Store, limit: int) -> None:
        self._store = store
        self._limit = limit
        self.size = 0
        self.dropped = 0
        self.sequence = 0  #: the last ``seq`` handed out
        self._lock: Optional[asyncio.Lock] = None  # made on the loop, at first use

    async def load(self) -> None:
        rows = await self._store.fetchall("SELECT COUNT(*) FROM ops_outbox")
        self.size = int(rows[0][0])
        meta = await self._store.fetchall("SELECT value FROM ops_meta WHERE name = 'dropped'")
        self.dropped = int(meta[0][0]) if meta else 0
        seq = await self._store.fetchall("SELECT value FROM ops_meta WHERE name = 'sequence'")
        self.sequence = int(seq[0][0]) if seq else 0

    async def next_sequence(self) -> int:
        """The next ``seq`` for a telemetry or alarm message, stored before it is used."""
        self.sequence += 1
        sequence = self.sequence  # another message may take the next while this one stores
        await self._store.execute(
            "INSERT OR REPLACE INTO ops_meta VALUES ('sequence', ?)", (str(sequence),)
        )
        return sequence

    async def put(self, topic: str, payload: bytes, retain: bool = False) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self._put(topic, payload, retain)

    async def _put(self, topic: str, payload: bytes, retain: bool) -> None:
        await self._store.execute(
            "INSERT INTO ops_outbox (topic, payload, retain) VALUES (?, ?, ?)",
            (topic, payload, int(retain)),
        )
        self.size += 1
        excess = self.size - self._limit
        if excess > 0:
            victims = [r[0] for r in await self._store.fetchall(_EVICTABLE, (excess,))]
            if not victims:
                return  # only alarms wait: they are kept
            await self._store.execute(
                f"DELETE FROM ops_outbox WHERE id IN ({','.join('?' * len(victims))})",
                tuple(victims),
            )
            excess = len(victims)
            self.size -= excess
            self.dropped += excess
            await self._store.execute(
                "INSERT OR REPLACE INTO ops_meta VALUES ('dropped', ?)", (str(self.dropped),)
            )
            level = logging.WARNING if self.dropped == excess else logging.DEBUG
            _LOGGER.log(
                level, "ops: offline queue full: %d oldest message(s) dropped", self.dropped
            )

    async def peek(self, count: int = 50) -> List[Queued]:
        rows = await self._store.fetchall(
            "SELECT id, topic, payload, retain FROM ops_outbox ORDER BY id LIMIT ?", (count,)
        )
        return [(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rows]

    async def remove(self, message_id: int) -> None:
        await self._store.execute("DELETE FROM ops_outbox WHERE id = ?", (message_id,))
        self.size = max(0, self.size - 1)
