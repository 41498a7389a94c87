"""Messages that must reach ops even if the broker is away: results, alarms, rejections.

They wait in SQLite, oldest first, and go out in order once the link is back. The queue
is bounded: when full, the oldest telemetry is dropped first, then the oldest other
message that is not an alarm (a reply, a rejection); the queue limit never drops an alarm
(the queue may hold more than its limit when only alarms are left). Drops are counted, and
the count goes out with the next birth message and telemetry so ops knows something was lost.

Alarms have their own bound, so an hour's outage with a flapping device cannot grow the
queue without end. A repeat of an alarm still waiting — the same source, code and subject
(:func:`alarm_key`) — is not queued again: :meth:`Outbox.coalesce` counts it in the first
(``repeats``, ``last_at``), which keeps its ``seq``. Beyond ``[ops] alarm_queue_limit``
queued alarms the oldest *cleared* ones go first (an information alarm: a condition that
ended; or an alarm with a later information alarm of the same source and subject queued),
then the oldest of the rest, and one synthetic alarm, ``ops.alarms_dropped`` ("alarms
dropped: N", N counting each raise the dropped ones stood for, repeats included), waits in
the queue saying how many went; it is never dropped itself. A repeat counted while the queue
is being sent may be counted in a copy already gone out: ops then sees one raise fewer.

Telemetry and alarms carry ``seq``, one counter for the kiosk that survives restarts
(:meth:`Outbox.next_sequence`): ops sees a gap where a message was lost and a repeat
where the broker delivered one twice (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..bus import Severity
from ..store import Store

_LOGGER = logging.getLogger(__name__)

Queued = Tuple[int, str, bytes, bool]
#: What makes two alarms repeats of one: source, code and subject.
AlarmKey = Tuple[str, str, str]

#: The synthetic alarm that says how many alarms a full queue dropped.
DROPPED_SOURCE = "ops"
DROPPED_CODE = "ops.alarms_dropped"


def is_alarm(topic: str) -> bool:
    return topic.endswith("/evt/alarm")


def alarm_key(document: Dict[str, Any]) -> AlarmKey:
    """Source, code and subject of an alarm document; the subject is the alarm's
    ``subject`` (a device, a queue) where it names one, else its message."""
    subject = document["subject"] if "subject" in document else document.get("message", "")
    return (str(document.get("source", "")), str(document.get("code", "")), str(subject))


@dataclass
class _QueuedAlarm:
    id: int
    key: AlarmKey
    cleared: bool  #: an information alarm: a condition ended
    repeats: int = 0  #: raises counted in it besides its own


def _victims(alarms: List[_QueuedAlarm], count: int) -> List[_QueuedAlarm]:
    """The ``count`` alarms a full alarm queue drops: cleared ones first, oldest first;
    never the synthetic ``ops.alarms_dropped``."""
    ended_later: Dict[Tuple[str, str], int] = {}  # (source, subject) -> its newest information
    for alarm in alarms:
        if alarm.cleared:
            ended_later[(alarm.key[0], alarm.key[2])] = alarm.id
    candidates = [a for a in alarms if a.key[1] != DROPPED_CODE]

    def rank(alarm: _QueuedAlarm) -> Tuple[int, int]:
        cleared = alarm.cleared or ended_later.get((alarm.key[0], alarm.key[2]), -1) > alarm.id
        return (0 if cleared else 1, alarm.id)

    return sorted(candidates, key=rank)[:count]


#: Eviction order of a full queue: lower first, oldest first within a rank; alarms never.
_EVICTABLE = (
    "SELECT id FROM ops_outbox WHERE topic NOT LIKE '%/evt/alarm'"
    " ORDER BY CASE WHEN topic LIKE '%/telemetry' THEN 0 ELSE 1 END, id LIMIT ?"
)


class Outbox:
    def __init__(
        self,
        store: Store,
        limit: int,
        *,
        alarm_limit: Callable[[], int] = lambda: 0,
        kiosk_id: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._limit = limit
        self._alarm_limit = alarm_limit  #: 0: alarms have no bound of their own
        self._kiosk_id = kiosk_id
        self._clock = clock
        self.size = 0
        self.dropped = 0
        self.alarms_dropped = 0  #: alarm raises a full alarm queue dropped, ever
        self.repeats = 0  #: alarms counted in a queued one instead of queued, ever
        self.alarms_queued = 0  #: alarms queued, ever (not the ``ops.alarms_dropped`` notices)
        self.sequence = 0  #: the last ``seq`` handed out
        self._alarms: Dict[int, _QueuedAlarm] = {}  #: queued alarms by row id, oldest first
        self._by_key: Dict[AlarmKey, int] = {}
        self._lock: Optional[asyncio.Lock] = None  # made on the loop, at first use

    @property
    def alarms(self) -> int:
        """Alarms waiting in the queue."""
        return len(self._alarms)

    async def load(self) -> None:
        rows = await self._store.fetchall("SELECT COUNT(*) FROM ops_outbox")
        self.size = int(rows[0][0])
        meta = await self._store.fetchall("SELECT value FROM ops_meta WHERE name = 'dropped'")
        self.dropped = int(meta[0][0]) if meta else 0
        meta = await self._store.fetchall(
            "SELECT value FROM ops_meta WHERE name = 'alarms_dropped'"
        )
        self.alarms_dropped = int(meta[0][0]) if meta else 0
        seq = await self._store.fetchall("SELECT value FROM ops_meta WHERE name = 'sequence'")
        self.sequence = int(seq[0][0]) if seq else 0
        self._alarms.clear()
        self._by_key.clear()
        queued = await self._store.fetchall(
            "SELECT id, payload FROM ops_outbox WHERE topic LIKE '%/evt/alarm' ORDER BY id"
        )
        for message_id, payload in queued:
            self._track(int(message_id), bytes(payload))

    def _track(self, message_id: int, payload: bytes) -> None:
        try:
            document = json.loads(payload)
        except ValueError:
            document = {}
        if not isinstance(document, dict):
            document = {}
        key = alarm_key(document)
        cleared = document.get("severity") == Severity.INFO.value
        try:
            repeats = max(0, int(document.get("repeats", 0)))
        except (TypeError, ValueError):
            repeats = 0
        self._alarms[message_id] = _QueuedAlarm(message_id, key, cleared, repeats)
        self._by_key.setdefault(key, message_id)

    def _untrack(self, message_id: int) -> None:
        alarm = self._alarms.pop(message_id, None)
        if alarm is not None and self._by_key.get(alarm.key) == message_id:
            del self._by_key[alarm.key]
            for other in self._alarms.values():  # a later repeat, queued before a coalesce
                if other.key == alarm.key:
                    self._by_key[alarm.key] = other.id
                    break

    async def coalesce(self, document: Dict[str, Any]) -> bool:
        """Count alarm ``document`` in a queued alarm of the same key, if one waits:
        ``repeats`` + 1 and ``last_at``; False (nothing done) when none does."""
        async with self._locked():
            message_id = self._by_key.get(alarm_key(document))
            if message_id is None:
                return False
            rows = await self._store.fetchall(
                "SELECT payload FROM ops_outbox WHERE id = ?", (message_id,)
            )
            if not rows:
                self._untrack(message_id)
                return False
            queued = json.loads(bytes(rows[0][0]))
            queued["repeats"] = int(queued.get("repeats", 0)) + 1
            queued["last_at"] = document.get("at", self._clock())
            await self._store.execute(
                "UPDATE ops_outbox SET payload = ? WHERE id = ?", (_json(queued), message_id)
            )
            self.repeats += 1
            tracked = self._alarms.get(message_id)
            if tracked is not None:
                tracked.repeats += 1
            return True

    async def next_sequence(self) -> int:
        """The next ``seq`` for a telemetry or alarm message, stored before it is used."""
        self.sequence += 1
        sequence = self.sequence  # another message may take the next while this one stores
        await self._store.execute(
            "INSERT OR REPLACE INTO ops_meta VALUES ('sequence', ?)", (str(sequence),)
        )
        return sequence

    def _locked(self) -> asyncio.Lock:
        """Held while a message goes in with what it evicts, and while the queue is read:
        nobody sees it between an insert and the eviction that insert causes."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def put(self, topic: str, payload: bytes, retain: bool = False) -> None:
        async with self._locked():
            await self._put(topic, payload, retain)

    async def _insert(self, topic: str, payload: bytes, retain: bool) -> int:
        message_id = await self._store.execute(
            "INSERT INTO ops_outbox (topic, payload, retain) VALUES (?, ?, ?)",
            (topic, payload, int(retain)),
        )
        self.size += 1
        if is_alarm(topic):
            self._track(message_id, payload)
        return message_id

    async def _put(self, topic: str, payload: bytes, retain: bool) -> None:
        await self._insert(topic, payload, retain)
        if is_alarm(topic):
            await self._bound_alarms(topic)
            self.alarms_queued += 1
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

    async def _bound_alarms(self, topic: str) -> None:
        """Beyond the alarm limit: the oldest cleared alarms go first, and the synthetic
        ``ops.alarms_dropped`` alarm says how many went."""
        limit = self._alarm_limit()
        excess = len(self._alarms) - limit
        if limit <= 0 or excess <= 0:
            return
        if (DROPPED_SOURCE, DROPPED_CODE, "") not in self._by_key:
            excess += 1  # room for the notice
        victims = _victims(list(self._alarms.values()), excess)
        ids = tuple(v.id for v in victims)
        raises = sum(1 + v.repeats for v in victims)
        await self._store.execute(
            f"DELETE FROM ops_outbox WHERE id IN ({','.join('?' * len(ids))})", ids
        )
        for message_id in ids:
            self._untrack(message_id)
        self.size -= len(ids)
        self.alarms_dropped += raises
        await self._store.execute(
            "INSERT OR REPLACE INTO ops_meta VALUES ('alarms_dropped', ?)",
            (str(self.alarms_dropped),),
        )
        await self._notice_dropped(topic, raises)
        level = logging.WARNING if self.alarms_dropped == raises else logging.DEBUG
        _LOGGER.log(level, "ops: offline alarm queue full: %d alarm(s) dropped", raises)

    async def _notice_dropped(self, topic: str, count: int) -> None:
        """The queued ``ops.alarms_dropped`` alarm counts ``count`` more; queued if none waits."""
        key = (DROPPED_SOURCE, DROPPED_CODE, "")
        message_id = self._by_key.get(key)
        if message_id is not None:
            rows = await self._store.fetchall(
                "SELECT payload FROM ops_outbox WHERE id = ?", (message_id,)
            )
            notice = json.loads(bytes(rows[0][0]))
            notice["dropped"] = int(notice.get("dropped", 0)) + count
            notice["message"] = f"alarms dropped: {notice['dropped']}"
            notice["last_at"] = self._clock()
            await self._store.execute(
                "UPDATE ops_outbox SET payload = ? WHERE id = ?", (_json(notice), message_id)
            )
            return
        notice = {
            "id": secrets.token_hex(8),
            "seq": await self.next_sequence(),
            "kiosk_id": self._kiosk_id,
            "at": self._clock(),
            "source": DROPPED_SOURCE,
            "code": DROPPED_CODE,
            "subject": "",
            "severity": Severity.WARNING.value,
            "message": f"alarms dropped: {count}",
            "dropped": count,
        }
        await self._insert(topic, _json(notice), False)

    async def peek(self, count: int = 50) -> List[Queued]:
        async with self._locked():
            rows = await self._store.fetchall(
                "SELECT id, topic, payload, retain FROM ops_outbox ORDER BY id LIMIT ?", (count,)
            )
        return [(r[0], r[1], bytes(r[2]), bool(r[3])) for r in rows]

    async def remove(self, message_id: int) -> None:
        await self._store.execute("DELETE FROM ops_outbox WHERE id = ?", (message_id,))
        self._untrack(message_id)
        self.size = max(0, self.size - 1)


def _json(document: Dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")
