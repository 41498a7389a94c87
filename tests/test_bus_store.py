"""The event bus and the SQLite store."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import List

import pytest

from govkiosk.bus import Event, EventBus, PersonalEvent
from govkiosk.store import Store, StoreError


@dataclass(frozen=True)
class Ping(Event):
    n: int


@dataclass(frozen=True)
class Secret(PersonalEvent):
    name: str


def test_handlers_get_their_type_and_subtypes_and_a_failing_one_is_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    pings: List[Ping] = []
    everything: List[Event] = []

    def broken(_event: Event) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe(Event, broken)
    bus.subscribe(Ping, pings.append)
    unsubscribe = bus.subscribe(Event, everything.append)
    bus.publish(Ping(1))
    unsubscribe()
    bus.publish(Ping(2))
    assert pings == [Ping(1), Ping(2)]
    assert everything == [Ping(1)]
    assert "event handler failed for Ping" in caplog.text


def test_personal_events_reach_only_personal_subscribers() -> None:
    bus = EventBus()
    ops: List[Event] = []
    session: List[Event] = []
    bus.subscribe(Event, ops.append)
    bus.subscribe(Secret, session.append, personal=True)
    bus.publish(Secret("张三"))
    assert ops == []
    assert session == [Secret("张三")]


async def test_stream_is_bounded_and_drops_the_oldest(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    with bus.stream(Ping, maxsize=2) as stream:
        for n in range(4):
            bus.publish(Ping(n))
        assert stream.dropped == 2
        assert [await stream.get(), await stream.get()] == [Ping(2), Ping(3)]
    bus.publish(Ping(9))  # closed: no longer queued
    assert stream.dropped == 2
    assert caplog.records[0].levelno == logging.WARNING


async def test_store_is_wal_and_migrates_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    await store.open()
    steps = [
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT)",
        "ALTER TABLE audit ADD COLUMN at REAL",
    ]
    await store.migrate("audit", steps[:1])
    await store.migrate("audit", steps)
    await store.migrate("audit", steps)  # nothing left to apply
    rowid = await store.execute("INSERT INTO audit (what, at) VALUES (?, ?)", ("sealed", 1.5))
    rows = await store.fetchall("SELECT what, at FROM audit WHERE id = ?", (rowid,))
    assert [tuple(r) for r in rows] == [("sealed", 1.5)]
    mode = await store.fetchall("PRAGMA journal_mode")
    assert mode[0][0] == "wal"
    version = await store.fetchall("SELECT version FROM schema_version WHERE component = 'audit'")
    assert version[0][0] == 2
    await store.close()


async def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    store = Store(tmp_path)
    await store.open()
    with pytest.raises(sqlite3.OperationalError):
        await store.migrate("x", ["CREATE TABLE t (a); INSERT INTO nope VALUES (1)"])
    assert await store.fetchall("SELECT name FROM sqlite_master WHERE name = 't'") == []
    await store.close()


async def test_unopenable_store_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = Store(blocker / "sub")
    with pytest.raises(StoreError, match=r"cannot open .*sub"):
        await store.open()
    await store.close()
