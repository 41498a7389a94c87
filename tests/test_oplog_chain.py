"""The ops log's hash chain (§8 e): every record carries the previous one's hash;
``govkioskctl oplog verify`` finds the first changed, removed or reordered record, and
rotation keeps the chain."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import AsyncIterator, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.bus import AdminAction, ConfigReloaded, EventBus
from govkiosk.cli.main import main as ctl_main
from govkiosk.ops.oplog import TRIM_EVERY, AdminRecorder, OpsLog, record_hash, verify, verify_rows
from govkiosk.store import DB_NAME, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(tmp_path / "state")
    await store.open()
    yield store
    await store.close()


async def filled(store: Store, count: int, limit: int = 10000) -> OpsLog:
    oplog = OpsLog(store, limit=limit)
    for n in range(count):
        await oplog.append("command", f"step-{n}", {"n": n, "role": "auditor"})
    return oplog


def tamper(state: Path, sql: str, params: Tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(str(state / DB_NAME))
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def ctl_verify(state: Path, capsys: pytest.CaptureFixture[str]) -> Tuple[int, str]:
    capsys.readouterr()
    status = ctl_main(["oplog", "verify", "--state-dir", str(state)])
    out, err = capsys.readouterr()
    return status, out + err


async def test_an_intact_log_verifies_and_each_record_names_the_one_before(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oplog = await filled(store, 5)
    assert (await oplog.verify()).ok
    rows = await store.fetchall("SELECT prev, hash FROM ops_log ORDER BY id")
    assert rows[0][0] == ""
    assert [r[0] for r in rows[1:]] == [r[1] for r in rows[:-1]]
    assert ctl_verify(tmp_path / "state", capsys) == (0, "ops log intact: 5 records\n")
    # The tail shipped to ops carries each record's hash, so ops can hold the chain too.
    tail = await oplog.tail(2)
    assert [e["hash"] for e in tail] == [r[1] for r in rows[-2:]]


async def test_a_changed_record_breaks_the_chain_at_that_record(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await filled(store, 6)
    tamper(tmp_path / "state", "UPDATE ops_log SET detail = ? WHERE id = 4", ('{"n": 99}',))
    verdict = verify(tmp_path / "state")
    assert (verdict.broken, verdict.checked) == (4, 3)
    assert verdict.reason == "its contents do not match its hash"
    status, text = ctl_verify(tmp_path / "state", capsys)
    assert status == 2
    assert "ops log broken at record 4: its contents do not match its hash" in text


async def test_a_recomputed_hash_still_breaks_the_next_record(store: Store, tmp_path: Path) -> None:
    await filled(store, 6)
    conn = sqlite3.connect(str(tmp_path / "state" / DB_NAME))
    at, kind, code, prev = conn.execute(
        "SELECT at, kind, code, prev FROM ops_log WHERE id = 3"
    ).fetchone()
    forged = record_hash(at, kind, code, "{}", prev)
    conn.execute("UPDATE ops_log SET detail = '{}', hash = ? WHERE id = 3", (forged,))
    conn.commit()
    conn.close()
    verdict = verify(tmp_path / "state")
    assert verdict.broken == 4
    assert verdict.reason == "prev does not match the hash of the row before"


async def test_a_removed_record_breaks_the_chain_at_the_next(store: Store, tmp_path: Path) -> None:
    await filled(store, 6)
    tamper(tmp_path / "state", "DELETE FROM ops_log WHERE id = 2")
    assert verify(tmp_path / "state").broken == 3


async def test_rotation_keeps_the_chain(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oplog = await filled(store, 2 * TRIM_EVERY + 5, limit=50)
    ids = [r[0] for r in await store.fetchall("SELECT id FROM ops_log ORDER BY id")]
    assert ids[0] > 1  # rotated
    assert len(ids) <= 50 + TRIM_EVERY
    assert (await oplog.verify()).ok
    status, text = ctl_verify(tmp_path / "state", capsys)
    assert (status, text) == (0, f"ops log intact: {len(ids)} records\n")
    # Rotated-away history cannot be cut further without a trace.
    tamper(tmp_path / "state", "DELETE FROM ops_log WHERE id = ?", (ids[0],))
    verdict = verify(tmp_path / "state")
    assert verdict.broken == ids[1]
    assert verdict.reason == "prev does not match the hash of the first row after rotation"


async def test_two_writers_never_fork_the_chain(store: Store, tmp_path: Path) -> None:
    one, two = OpsLog(store), OpsLog(store)
    await asyncio.gather(
        *(log.append("alarm", f"a{n}", {"n": n}) for n in range(20) for log in (one, two))
    )
    # A second process (govkioskctl backup) appends to the same file meanwhile.
    other = Store(tmp_path / "state")
    await other.open()
    try:
        await asyncio.gather(
            OpsLog(other).append("backup", "written", {}), one.append("alarm", "z", {})
        )
    finally:
        await other.close()
    assert verify(tmp_path / "state").checked == 42
    assert verify(tmp_path / "state").ok


def test_a_dropped_log_is_not_intact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sqlite3.connect(str(tmp_path / DB_NAME)).close()
    status, text = ctl_verify(tmp_path, capsys)
    assert status == 1
    assert f"{tmp_path / DB_NAME}: no such table: ops_log" in text


def test_verify_without_a_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = ctl_verify(tmp_path, capsys)
    assert status == 1
    assert f"no database in {tmp_path}" in text


def chain(details: List[str]) -> List[Tuple[object, ...]]:
    rows: List[Tuple[object, ...]] = []
    prev = ""
    for n, detail in enumerate(details, start=1):
        digest = record_hash(float(n), "command", "c", detail, prev)
        rows.append((n, float(n), "command", "c", detail, prev, digest))
        prev = digest
    return rows


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=20), min_size=2, max_size=12),
    st.data(),
)
def test_any_single_change_is_found_at_the_changed_record(
    details: List[str], data: st.DataObject
) -> None:
    rows = chain(details)
    assert verify_rows(rows, "").ok
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from([1, 2, 3, 4, 5, 6]))
    row = list(rows[index])
    original = row[column]
    row[column] = (
        original + 0.5
        if isinstance(original, float)
        else str(original) + data.draw(st.text(min_size=1, max_size=3))
    )
    rows[index] = tuple(row)
    verdict = verify_rows(rows, "")
    assert verdict.broken == index + 1
    assert verdict.checked == index


async def test_actions_waiting_at_stop_are_still_written(store: Store) -> None:
    events = EventBus()
    oplog = OpsLog(store)
    recorder = AdminRecorder(events, oplog)
    await recorder.start()
    events.publish(AdminAction("maintenance", "logout", {}))
    events.publish(ConfigReloaded(("/etc/govkiosk/govkiosk.toml",)))
    await recorder.stop()  # the daemon stops before the recorder served them
    entries = await oplog.tail(10)
    assert [(e["kind"], e["code"], e["detail"]) for e in entries] == [
        ("maintenance", "logout", {}),
        ("config", "reloaded", {"files": ["/etc/govkiosk/govkiosk.toml"]}),
    ]
    assert (await oplog.verify()).ok
