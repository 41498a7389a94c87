"""The counts in the daemon's SQLite: aggregated per day and item, nothing finer (§8 d).

``usage_sessions``: (day, item_code, outcome) → count of finished sessions.
``usage_evaluations``: (day, item_code, level, reason) → count, where the row with the
empty reason counts the evaluations at that level and each other row how many of them
gave that reason. Days are the kiosk's local dates, ``YYYY-MM-DD`` (they sort as text).
"""

from __future__ import annotations

import asyncio
import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..store import Store

COMPONENT = "usage"
MIGRATIONS = [
    """
    CREATE TABLE usage_sessions (
        day       TEXT NOT NULL,
        item_code TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        count     INTEGER NOT NULL,
        PRIMARY KEY (day, item_code, outcome)
    ) WITHOUT ROWID;
    CREATE TABLE usage_evaluations (
        day       TEXT NOT NULL,
        item_code TEXT NOT NULL,
        level     INTEGER NOT NULL,
        reason    TEXT NOT NULL,
        count     INTEGER NOT NULL,
        PRIMARY KEY (day, item_code, level, reason)
    ) WITHOUT ROWID;
    CREATE INDEX usage_sessions_by_item ON usage_sessions (item_code, outcome, count);
    CREATE INDEX usage_evaluations_by_item
        ON usage_evaluations (item_code, level, reason, count)
    """
]

#: A report asked for more days than this covers everything kept.
ALL_DAYS = 36_600

SessionKey = Tuple[str, str, str]  #: day, item, outcome
EvaluationKey = Tuple[str, str, int, str]  #: day, item, level, reason ("" = the evaluation)


def day(date: datetime.date) -> str:
    return date.isoformat()


def first_day(today: datetime.date, days: int) -> str:
    """The first day of the ``days`` days that end with ``today``."""
    return day(today - datetime.timedelta(days=days - 1))


@dataclass
class ItemUsage:
    sessions: Dict[str, int] = field(default_factory=dict)  #: outcome → count
    levels: Dict[int, int] = field(default_factory=dict)  #: level → evaluations
    reasons: Dict[str, int] = field(default_factory=dict)  #: reason → count

    @property
    def evaluations(self) -> int:
        return sum(self.levels.values())

    def as_dict(self) -> Dict[str, Any]:
        return {
            "sessions": dict(sorted(self.sessions.items())),
            "evaluations": {str(k): v for k, v in sorted(self.levels.items(), reverse=True)},
            "reasons": dict(sorted(self.reasons.items())),
        }


@dataclass
class Usage:
    """The counts of a span of days: ``first``/``last`` the days that have any ("" none)."""

    first: str = ""
    last: str = ""
    items: Dict[str, ItemUsage] = field(default_factory=dict)

    def only(self, codes: Iterable[str]) -> Usage:
        """The counts of ``codes`` only (the catalogue's items: a bounded report)."""
        keep = set(codes)
        return Usage(self.first, self.last, {c: u for c, u in self.items.items() if c in keep})

    def rows(self) -> List[Any]:
        """As the D-Bus API gives it, ``(ssa(sa{su}a{su}a{su}))``: first day, last day,
        and per item its sessions by outcome, evaluations by level, reasons."""
        return [
            self.first,
            self.last,
            [[code, *self.items[code].as_dict().values()] for code in sorted(self.items)],
        ]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "first_day": self.first,
            "last_day": self.last,
            "items": {code: self.items[code].as_dict() for code in sorted(self.items)},
        }


class UsageStore:
    """Reads and writes the counts; each instance makes sure the tables exist first.
    ``today`` is the kiosk's local date (a test's clock)."""

    def __init__(
        self, store: Store, today: Callable[[], datetime.date] = datetime.date.today
    ) -> None:
        self._store = store
        self.today = today
        self._migrated = False
        # Made on first use, inside the running loop (Python 3.8 binds it at construction).
        self._lock: Optional[asyncio.Lock] = None

    async def migrate(self) -> None:
        if self._migrated:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._migrated:
                await self._store.migrate(COMPONENT, MIGRATIONS)
                self._migrated = True

    async def add(self, sessions: Counter[SessionKey], evaluations: Counter[EvaluationKey]) -> None:
        """Add the counts, all or none."""
        await self.migrate()
        statements: List[Tuple[str, Sequence[Any]]] = []
        for key, n in sorted(sessions.items()):
            statements += [
                ("INSERT OR IGNORE INTO usage_sessions VALUES (?, ?, ?, 0)", key),
                (
                    "UPDATE usage_sessions SET count = count + ?"
                    " WHERE day = ? AND item_code = ? AND outcome = ?",
                    (n, *key),
                ),
            ]
        for ekey, n in sorted(evaluations.items()):
            statements += [
                ("INSERT OR IGNORE INTO usage_evaluations VALUES (?, ?, ?, ?, 0)", ekey),
                (
                    "UPDATE usage_evaluations SET count = count + ?"
                    " WHERE day = ? AND item_code = ? AND level = ? AND reason = ?",
                    (n, *ekey),
                ),
            ]
        if statements:
            await self._store.transaction(statements)

    async def purge(self, before: str) -> None:
        """Delete the counts of the days before ``before``."""
        await self.migrate()
        await self._store.transaction(
            [
                ("DELETE FROM usage_sessions WHERE day < ?", (before,)),
                ("DELETE FROM usage_evaluations WHERE day < ?", (before,)),
            ]
        )

    async def recent(self, days: int) -> Usage:
        """The counts of the last ``days`` days, today's included (0: all that are kept)."""
        return await self.usage(first_day(self.today(), days) if 0 < days < ALL_DAYS else "")

    async def rows(self, days: int) -> List[Any]:
        """:meth:`recent` as the D-Bus API gives it (:meth:`Usage.rows`)."""
        return (await self.recent(days)).rows()

    async def completed(self, since: str) -> Dict[str, int]:
        """Sessions that ended ``done`` per item, from day ``since`` on."""
        await self.migrate()
        rows = await self._store.fetchall(
            "SELECT item_code, SUM(count) FROM usage_sessions"
            " WHERE outcome = 'done' AND day >= ? GROUP BY item_code",
            (since,),
        )
        return {row[0]: int(row[1]) for row in rows if row[1]}

    async def usage(self, since: str = "") -> Usage:
        """Every count from day ``since`` on ("": all that are kept)."""
        await self.migrate()
        # The indexes by item serve the sums without sorting; the days come from the keys.
        sessions = await self._store.fetchall(
            "SELECT item_code, outcome, SUM(count) FROM usage_sessions"
            " WHERE day >= ? GROUP BY item_code, outcome",
            (since,),
        )
        evaluations = await self._store.fetchall(
            "SELECT item_code, level, reason, SUM(count) FROM usage_evaluations"
            " WHERE day >= ? GROUP BY item_code, level, reason",
            (since,),
        )
        result = Usage()
        for code, outcome, n in sessions:
            result.items.setdefault(code, ItemUsage()).sessions[outcome] = int(n)
        for code, level, reason, n in evaluations:
            item = result.items.setdefault(code, ItemUsage())
            if reason:
                item.reasons[reason] = item.reasons.get(reason, 0) + int(n)
            else:
                item.levels[int(level)] = int(n)
        days: List[str] = []
        for table in ("usage_sessions", "usage_evaluations"):
            for order in ("ASC", "DESC"):
                rows = await self._store.fetchall(
                    f"SELECT day FROM {table} WHERE day >= ? ORDER BY day {order} LIMIT 1",
                    (since,),
                )
                days += [row[0] for row in rows]
        if days:
            result.first, result.last = min(days), max(days)
        return result
