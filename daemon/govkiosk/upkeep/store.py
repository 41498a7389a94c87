"""The upkeep tables in the daemon's SQLite: self-test results, consumables since their
last refill, availability transitions. Nothing about citizens (§8 d)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ..store import Store
from .availability import DOWN, SPANS, STATES, Transition, uptime_percent
from .consumables import NAMES, Level, check_name, level
from .settings import ConsumablesSettings

COMPONENT = "upkeep"
SCHEMA = [
    """
    CREATE TABLE upkeep_selftest (
        id       INTEGER PRIMARY KEY,
        started  REAL NOT NULL,
        finished REAL NOT NULL,
        passed   INTEGER NOT NULL,
        trigger  TEXT NOT NULL,
        checks   TEXT NOT NULL
    );
    CREATE TABLE upkeep_consumables (
        name     TEXT PRIMARY KEY,
        used     REAL NOT NULL,
        refilled REAL NOT NULL
    );
    CREATE TABLE upkeep_availability (
        id    INTEGER PRIMARY KEY,
        time  REAL NOT NULL,
        state TEXT NOT NULL
    );
    CREATE INDEX upkeep_availability_time ON upkeep_availability (time);
    CREATE TABLE upkeep_heartbeat (
        one  INTEGER PRIMARY KEY CHECK (one = 1),
        time REAL NOT NULL
    )
    """
]
#: Self-test results kept (a year of daily runs and some manual ones).
RESULTS_KEPT = 400
#: Transitions older than the longest span and a day are deleted.
AVAILABILITY_KEPT = max(SPANS.values()) + 86400.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str  #: for ops; names services, devices and figures, never a person

    def as_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class SelfTestResult:
    started: float
    finished: float
    trigger: str  #: ``schedule`` or ``manual``
    checks: Tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "started": self.started,
            "finished": self.finished,
            "trigger": self.trigger,
            "passed": self.passed,
            "checks": [check.as_dict() for check in self.checks],
        }


class UpkeepStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def migrate(self) -> None:
        await self._store.migrate(COMPONENT, SCHEMA)

    # Self-test ----------------------------------------------------------------------
    async def add_result(self, result: SelfTestResult) -> None:
        checks = json.dumps([c.as_dict() for c in result.checks], ensure_ascii=False)
        await self._store.transaction(
            [
                (
                    "INSERT INTO upkeep_selftest (started, finished, passed, trigger, checks)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (result.started, result.finished, int(result.passed), result.trigger, checks),
                ),
                (
                    "DELETE FROM upkeep_selftest WHERE id <= "
                    "(SELECT MAX(id) FROM upkeep_selftest) - ?",
                    (RESULTS_KEPT,),
                ),
            ]
        )

    async def last_result(self) -> Optional[SelfTestResult]:
        rows = await self._store.fetchall(
            "SELECT started, finished, trigger, checks FROM upkeep_selftest"
            " ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        row = rows[0]
        checks = tuple(
            CheckResult(str(c["name"]), bool(c["passed"]), str(c["detail"]))
            for c in json.loads(row["checks"])
        )
        return SelfTestResult(row["started"], row["finished"], row["trigger"], checks)

    # Consumables --------------------------------------------------------------------
    async def use(self, name: str, amount: float) -> None:
        check_name(name)
        await self._store.execute(
            "INSERT INTO upkeep_consumables (name, used, refilled) VALUES (?, ?, 0)"
            " ON CONFLICT (name) DO UPDATE SET used = used + excluded.used",
            (name, amount),
        )

    async def refill(self, name: str, now: float) -> None:
        check_name(name)
        await self._store.execute(
            "INSERT OR REPLACE INTO upkeep_consumables (name, used, refilled) VALUES (?, 0, ?)",
            (name, now),
        )

    async def level(self, name: str, settings: ConsumablesSettings) -> Level:
        check_name(name)
        rows = await self._store.fetchall(
            "SELECT used, refilled FROM upkeep_consumables WHERE name = ?", (name,)
        )
        used, refilled = (rows[0]["used"], rows[0]["refilled"]) if rows else (0.0, 0.0)
        return level(name, used, refilled, settings)

    async def levels(self, settings: ConsumablesSettings) -> List[Level]:
        return [await self.level(name, settings) for name in NAMES]

    # Availability -------------------------------------------------------------------
    async def heartbeat(self, now: float) -> None:
        await self._store.execute(
            "INSERT OR REPLACE INTO upkeep_heartbeat (one, time) VALUES (1, ?)", (now,)
        )

    async def last_state(self) -> Optional[str]:
        rows = await self._store.fetchall(
            "SELECT state FROM upkeep_availability ORDER BY time DESC, id DESC LIMIT 1"
        )
        return str(rows[0]["state"]) if rows else None

    async def close_crash(self) -> None:
        """At start: if the daemon ended without recording ``down`` (a crash, a power
        cut), record it at the last heartbeat."""
        last = await self.last_state()
        beat = await self._store.fetchall("SELECT time FROM upkeep_heartbeat WHERE one = 1")
        if last is not None and last != DOWN and beat:
            await self.transition(float(beat[0]["time"]), DOWN)

    async def transition(self, now: float, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown availability state {state!r}")
        await self._store.transaction(
            [
                ("INSERT INTO upkeep_availability (time, state) VALUES (?, ?)", (now, state)),
                (
                    "DELETE FROM upkeep_availability WHERE time < ?",
                    (now - AVAILABILITY_KEPT,),
                ),
                ("INSERT OR REPLACE INTO upkeep_heartbeat (one, time) VALUES (1, ?)", (now,)),
            ]
        )

    async def transitions(self, since: float) -> List[Transition]:
        """Every transition from the last one before ``since`` on, oldest first."""
        rows = await self._store.fetchall(
            "SELECT time, state FROM upkeep_availability WHERE time >= "
            "COALESCE((SELECT MAX(time) FROM upkeep_availability WHERE time <= ?), 0)"
            " ORDER BY time, id",
            (since,),
        )
        return [(float(r["time"]), str(r["state"])) for r in rows]

    async def availability(self, now: float) -> Dict[str, Optional[float]]:
        """Uptime in percent over each span (``24h``, ``30d``); ``None`` where unknown."""
        longest = max(SPANS.values())
        transitions = await self.transitions(now - longest)
        report: Dict[str, Optional[float]] = {}
        for span, seconds in SPANS.items():
            percent = uptime_percent(transitions, now - seconds, now)
            report[span] = None if percent is None else round(percent, 3)
        return report

    # Reports ------------------------------------------------------------------------
    async def report(self, now: float, consumables: ConsumablesSettings) -> Dict[str, Any]:
        """For telemetry, ``status`` and ``govkioskctl``: no personal data."""
        last = await self.last_result()
        return {
            "selftest": None if last is None else last.as_dict(),
            "consumables": [lv.as_dict() for lv in await self.levels(consumables)],
            "availability": await self.availability(now),
        }
