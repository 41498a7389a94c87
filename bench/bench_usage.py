"""Usage counts at their bound: 400 days of 30 items in a real SQLite state database.

Each day every item has sessions of all six outcomes and evaluations at every level
with two reasons. Measured: writing one day of it (what the ``usage`` service flushes),
the cumulative ``usage`` document telemetry and ``status`` read, ``FrequentItems``'
90-day query, and the database's size.
"""

from __future__ import annotations

import asyncio
import datetime
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Tuple

from govkiosk.evaluation.store import EvaluationKey, SessionKey, UsageStore, day, first_day
from govkiosk.store import Store

DAYS = 400
ITEMS = [f"item_{n:02d}" for n in range(30)]
OUTCOMES = ("done", "failed", "cancelled", "expired", "walked_away", "home")
TODAY = datetime.date(2026, 12, 31)


def _day_of_counts(date: datetime.date) -> Tuple[Counter[SessionKey], Counter[EvaluationKey]]:
    sessions: Counter[SessionKey] = Counter()
    evaluations: Counter[EvaluationKey] = Counter()
    d = day(date)
    for item in ITEMS:
        for n, outcome in enumerate(OUTCOMES):
            sessions[(d, item, outcome)] = 10 - n
        for level in range(1, 6):
            evaluations[(d, item, level, "")] = level
        for reason in ("too_slow", "other"):
            evaluations[(d, item, 1, reason)] = 1
            evaluations[(d, item, 2, reason)] = 1
    return sessions, evaluations


async def _run(directory: Path) -> Dict[str, Any]:
    store = Store(directory)
    await store.open()
    usage = UsageStore(store, lambda: TODAY)
    try:
        start = time.perf_counter()
        for back in range(DAYS - 1, 0, -1):
            await usage.add(*_day_of_counts(TODAY - datetime.timedelta(days=back)))
        fill = time.perf_counter() - start
        sessions, evaluations = _day_of_counts(TODAY)
        start = time.perf_counter()
        await usage.add(sessions, evaluations)
        one_day = time.perf_counter() - start
        start = time.perf_counter()
        document = (await usage.recent(0)).only(ITEMS).as_dict()
        cumulative = time.perf_counter() - start
        start = time.perf_counter()
        await usage.completed(first_day(TODAY, 90))
        frequent = time.perf_counter() - start
        assert document["items"]["item_00"]["sessions"]["done"] == 10 * DAYS
    finally:
        await store.close()
    return {
        "rows": DAYS * len(ITEMS) * (len(OUTCOMES) + 9),
        "fill_400_days_s": round(fill, 2),
        "write_one_day_ms": round(one_day * 1000, 1),
        "usage_document_ms": round(cumulative * 1000, 1),
        "frequent_90_days_ms": round(frequent * 1000, 1),
        "target": "telemetry every 30 s: the usage document well under 1 s, off the loop",
    }


def run() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        figures = asyncio.run(_run(directory))
        figures["database_bytes"] = sum(p.stat().st_size for p in directory.iterdir())
        return figures
