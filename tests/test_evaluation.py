"""好差评 levels and reasons, the frequent-items ranking, and the usage counts in a real
SQLite state database (govkiosk.evaluation), with the day given by a test clock."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from pathlib import Path
from typing import AsyncIterator, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.bus import EventBus
from govkiosk.evaluation import service
from govkiosk.evaluation.levels import (
    LEVELS,
    MAX_REASONS,
    REASON_CODES,
    REASONS,
    check,
    reasons,
)
from govkiosk.evaluation.service import UsageCounter, rank
from govkiosk.evaluation.settings import EvaluationSettings
from govkiosk.evaluation.store import UsageStore
from govkiosk.session.errors import InvalidEvaluationError, SessionError
from govkiosk.session.state import SessionEnded
from govkiosk.store import Store

DAY = datetime.date(2026, 3, 1)


class Clock:
    def __init__(self) -> None:
        self.today = DAY

    def __call__(self) -> datetime.date:
        return self.today

    def advance(self, days: int) -> None:
        self.today += datetime.timedelta(days=days)


# The scale and the reasons ----------------------------------------------------------


def test_the_five_levels_and_the_reasons_have_both_languages() -> None:
    assert [LEVELS[n].zh_CN for n in (5, 4, 3, 2, 1)] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert 6 <= len(REASONS) <= 8
    assert len(set(REASON_CODES)) == len(REASON_CODES)
    zh, en = reasons("zh_CN"), reasons("en")
    assert [c for c, _ in zh] == [c for c, _ in en] == list(REASON_CODES)
    assert ("too_slow", "等待时间长") in zh
    assert ("too_slow", "Waited too long") in en
    with pytest.raises(InvalidEvaluationError):
        reasons("fr")


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_every_level_may_be_given_without_reasons(level: int) -> None:
    assert check(level, []) == ()


def test_reasons_come_back_once_each_in_display_order() -> None:
    assert check(1, ["other", "too_slow", "other"]) == ("too_slow", "other")
    assert check(2, list(REASON_CODES)) == REASON_CODES


@pytest.mark.parametrize(
    ("level", "given", "says"),
    [
        (0, [], "level"),
        (6, [], "level"),
        (2**32 - 1, [], "level"),
        (3, ["too_slow"], "level 1 or 2"),
        (5, ["other"], "level 1 or 2"),
        (1, ["rude_staff"], "unknown"),
        (2, ["too_slow"] * (MAX_REASONS + 1), "at most"),
    ],
)
def test_what_is_refused(level: int, given: List[str], says: str) -> None:
    with pytest.raises(InvalidEvaluationError, match=says) as refused:
        check(level, given)
    assert isinstance(refused.value, SessionError)  # the session's tree: a D-Bus error name


@given(
    st.integers(min_value=0, max_value=2**32 - 1),
    st.lists(
        st.one_of(st.sampled_from(REASON_CODES), st.text(max_size=30).map("私".__add__)),
        max_size=12,
    ),
)
def test_check_fuzzed(level: int, given: List[str]) -> None:
    """Anything the bus can carry: a valid evaluation or InvalidEvaluationError, and the
    caller's strings are never echoed into the error (it may be logged)."""
    message = ""
    try:
        chosen = check(level, given)
    except InvalidEvaluationError as err:
        message = str(err)
    if message:
        echoed = [t for t in given if t not in REASON_CODES and t in message]
        assert echoed == []
        return
    assert 1 <= level <= 5
    assert set(chosen) == set(given)
    assert chosen == tuple(c for c in REASON_CODES if c in chosen)
    assert not chosen or level <= 2


# Ranking ------------------------------------------------------------------------------
CODES = ["a", "b", "c", "d", "e"]


def test_most_completed_first_ties_in_catalogue_order() -> None:
    assert rank(CODES, {"c": 2, "e": 5, "b": 2, "x": 9}, (), 10) == ["e", "b", "c"]
    assert rank(CODES, {"c": 2, "e": 5, "b": 2}, (), 2) == ["e", "b"]
    assert rank(CODES, {}, (), 4) == []
    assert rank(CODES, {"c": 1}, (), 0) == []


def test_defaults_follow_the_counted_and_only_items_offered_now() -> None:
    assert rank(CODES, {"c": 1}, ("a", "c", "gone", "a", "b"), 3) == ["c", "a", "b"]
    assert rank(CODES, {}, ("d",), 4) == ["d"]


# The store ----------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(tmp_path / "state")
    await store.open()
    yield store
    await store.close()


def counter(store: Store, clock: Clock, **settings: object) -> UsageCounter:
    section = EvaluationSettings(**settings)  # type: ignore[arg-type]
    return UsageCounter(UsageStore(store, clock), EventBus(), lambda: section)


def ended(usage: UsageCounter, item: str, outcome: str = "done") -> None:
    usage._bus.publish(SessionEnded(item, outcome, "", 1.0))


async def test_counts_by_outcome_level_and_reason(store: Store) -> None:
    clock = Clock()
    usage = counter(store, clock)
    await usage.start()
    for outcome in ("done", "done", "cancelled", "walked_away"):
        ended(usage, "id_card_print", outcome)
    usage.evaluated("id_card_print", 5, [])
    usage.evaluated("id_card_print", 2, ["too_slow", "device_fault"])
    usage.evaluated("id_card_print", 2, ["too_slow"])
    with pytest.raises(InvalidEvaluationError):
        usage.evaluated("id_card_print", 4, ["too_slow"])
    await usage.flush()
    report = (await usage.usage.recent(0)).as_dict()
    assert report == {
        "first_day": "2026-03-01",
        "last_day": "2026-03-01",
        "items": {
            "id_card_print": {
                "sessions": {"cancelled": 1, "done": 2, "walked_away": 1},
                "evaluations": {"5": 1, "2": 2},
                "reasons": {"device_fault": 1, "too_slow": 2},
            }
        },
    }
    rows = await usage.usage.rows(1)
    assert rows[2][0][0] == "id_card_print"


async def test_the_service_writes_behind_and_the_counts_survive_a_reopen(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    usage = counter(store, clock)
    await usage.start()
    task = asyncio.ensure_future(usage.serve())
    try:
        ended(usage, "household_register_print")
        reader = UsageStore(store, clock)
        written: List[int] = []

        async def poll() -> None:
            written[:] = [(await reader.completed("")).get("household_register_print", 0)]

        async def until_written() -> None:
            while not written or written[0] != 1:
                await poll()

        await asyncio.wait_for(until_written(), 10)
    finally:
        task.cancel()
        await asyncio.wait({task})
    ended(usage, "household_register_print")  # pending at stop: written by stop()
    await usage.stop()
    await store.close()
    again = Store(tmp_path / "state")
    await again.open()
    try:
        assert await UsageStore(again, clock).completed("") == {"household_register_print": 2}
    finally:
        await again.close()


async def test_frequent_counts_only_completed_sessions_of_the_last_days(store: Store) -> None:
    clock = Clock()
    usage = counter(store, clock, frequent_days=7)
    await usage.start()
    for _ in range(5):
        ended(usage, "a")  # a week and a day ago: out of the window
    clock.advance(8)
    ended(usage, "b")
    for _ in range(3):
        ended(usage, "c", "failed")
    ended(usage, "c")
    ended(usage, "d")
    ended(usage, "d")
    assert await usage.frequent(CODES, 4) == ["d", "b", "c"]
    clock.advance(6)  # the window's last day still holds b, c, d
    assert await usage.frequent(CODES, 4) == ["d", "b", "c"]
    clock.advance(1)
    assert await usage.frequent(CODES, 4) == []


async def test_old_days_are_deleted_after_keep_days(store: Store) -> None:
    clock = Clock()
    usage = counter(store, clock, keep_days=30)
    await usage.start()
    ended(usage, "a")
    usage.evaluated("a", 1, ["other"])
    await usage.flush()
    clock.advance(29)
    ended(usage, "b")
    await usage.flush()
    await usage._purge()
    assert set((await usage.usage.recent(0)).items) == {"a", "b"}
    clock.advance(1)
    await usage._purge()
    report = await usage.usage.recent(0)
    assert set(report.items) == {"b"}
    assert (report.first, report.last) == ("2026-03-30", "2026-03-30")


async def test_only_counts_are_stored(store: Store) -> None:
    """§8 d: two tables of day, item, outcome/level/reason and a count — nothing else."""
    usage = counter(store, Clock())
    await usage.start()
    ended(usage, "a")
    usage.evaluated("a", 1, ["too_slow"])
    await usage.flush()
    conn = sqlite3.connect(str(store.path))
    try:
        columns = {
            table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            for table in ("usage_sessions", "usage_evaluations")
        }
        rows = conn.execute("SELECT * FROM usage_evaluations ORDER BY reason").fetchall()
    finally:
        conn.close()
    assert columns == {
        "usage_sessions": ["day", "item_code", "outcome", "count"],
        "usage_evaluations": ["day", "item_code", "level", "reason", "count"],
    }
    assert rows == [("2026-03-01", "a", 1, "", 1), ("2026-03-01", "a", 1, "too_slow", 1)]


async def test_a_failing_write_keeps_the_counts_bounded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PENDING_MAX", 5)
    usage = counter(store, Clock())
    await usage.start()
    conn = sqlite3.connect(str(store.path))
    conn.execute("DROP TABLE usage_sessions")  # every write now fails
    conn.close()
    for n in range(20):
        ended(usage, f"item{n}")
    assert (len(usage._sessions), usage.dropped) == (5, 15)
    with pytest.raises(sqlite3.OperationalError):
        await usage.flush()
    assert sorted(usage._sessions) == [("2026-03-01", f"item{n}", "done") for n in range(5)]
