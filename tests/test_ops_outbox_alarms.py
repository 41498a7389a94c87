"""The ops outbox's bound on alarms, on a real SQLite store: repeats counted in the queued
alarm, a hard cap that drops cleared alarms first and says how many went, kept across a
restart of the daemon (the queue's index is rebuilt from the database)."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.ops import schema
from govkiosk.ops.outbox import DROPPED_CODE, Outbox
from govkiosk.store import Store

TOPIC = "govkiosk/k1/evt/alarm"
COUNTER = itertools.count()


async def _outbox(directory: Path, cap: int) -> Tuple[Store, Outbox]:
    store = Store(directory)
    await store.open()
    await store.migrate(schema.COMPONENT, schema.MIGRATIONS)
    outbox = Outbox(store, 10_000, alarm_limit=lambda: cap, kiosk_id="k1")
    await outbox.load()
    return store, outbox


async def _raise(outbox: Outbox, source: str, subject: str, severity: str, at: float) -> None:
    """What the ops service does with an alarm while the broker is away."""
    document: Dict[str, Any] = {
        "source": source,
        "code": f"{source}.{severity}",
        "subject": subject,
        "severity": severity,
        "message": "m",
        "at": at,
    }
    if await outbox.coalesce(document):
        return
    document["seq"] = await outbox.next_sequence()
    await outbox.put(TOPIC, json.dumps(document).encode())


async def _queued(outbox: Outbox) -> List[Dict[str, Any]]:
    return [json.loads(row[2]) for row in await outbox.peek(100_000)]


def _accounted(queued: List[Dict[str, Any]]) -> int:
    """Raises the queue stands for: each alarm with its repeats, and what the notice says."""
    total = 0
    for document in queued:
        if document["code"] == DROPPED_CODE:
            total += document["dropped"]
        else:
            total += 1 + document.get("repeats", 0)
    return total


async def test_repeats_are_counted_and_the_count_survives_a_restart(tmp_path: Path) -> None:
    store, outbox = await _outbox(tmp_path, 10)
    for n in range(5):
        await _raise(outbox, "receipt", "lp0", "warning", float(n))
    await store.close()
    store, outbox = await _outbox(tmp_path, 10)  # the daemon started again, still offline
    for n in range(5, 8):
        await _raise(outbox, "receipt", "lp0", "warning", float(n))
    await _raise(outbox, "receipt", "lp1", "warning", 9.0)  # another printer: its own
    [first, other] = await _queued(outbox)
    assert (first["subject"], first["repeats"], first["last_at"], first["seq"]) == (
        "lp0",
        7,
        7.0,
        1,
    )
    assert (other["subject"], other.get("repeats", 0), other["seq"]) == ("lp1", 0, 2)
    await store.close()


async def test_over_the_cap_the_cleared_go_first_and_ops_is_told(tmp_path: Path) -> None:
    store, outbox = await _outbox(tmp_path, 4)
    await _raise(outbox, "camera", "stuck", "warning", 0.0)  # the oldest, never cleared
    for n in range(6):
        await _raise(outbox, "camera", f"dev{n}", "warning", 1.0 + n)
        await _raise(outbox, "camera", f"dev{n}", "info", 1.5 + n)  # it recovered
    queued = await _queued(outbox)
    assert len(queued) == 4
    assert queued[0]["subject"] == "stuck"
    [notice] = [d for d in queued if d["code"] == DROPPED_CODE]
    assert notice["message"] == f"alarms dropped: {notice['dropped']}"
    assert notice["dropped"] == outbox.alarms_dropped == 13 - 3
    assert _accounted(queued) == 13
    seqs = [d["seq"] for d in queued]
    assert len(seqs) == len(set(seqs))
    await store.close()


RAISES = st.lists(
    st.tuples(
        st.sampled_from(("camera", "receipt")),
        st.sampled_from(("a", "b", "c", "d", "e", "f")),
        st.sampled_from(("warning", "info", "critical")),
    ),
    max_size=60,
)


@pytest.mark.fuzz
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(RAISES, st.integers(3, 12))
def test_any_outage_stays_within_the_cap_and_loses_no_count(
    tmp_path: Path, raises: List[Tuple[str, str, str]], cap: int
) -> None:
    async def run() -> None:
        store, outbox = await _outbox(tmp_path / str(next(COUNTER)), cap)
        try:
            for n, (source, subject, severity) in enumerate(raises):
                await _raise(outbox, source, subject, severity, float(n))
                assert outbox.alarms <= cap
            queued = await _queued(outbox)
            assert _accounted(queued) == len(raises)
            seqs = [d["seq"] for d in queued]
            assert len(seqs) == len(set(seqs))
            assert sum(d["code"] == DROPPED_CODE for d in queued) == (
                1 if outbox.alarms_dropped else 0
            )
        finally:
            await store.close()

    asyncio.run(run())
