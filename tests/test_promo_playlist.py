"""The promotion playlist's format and schedule (govkiosk.contract.promo) and the promotion
program's order of play (govkiosk_ui.promo.sequence): pure, with the clock passed in."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.contract.promo import (
    DEFAULT_DURATION,
    MAX_ENTRIES,
    Playlist,
    PlaylistError,
    TimeWindow,
    parse_playlist,
)
from govkiosk_ui.promo.sequence import Sequence

# 2026-12-07 is a Monday.
MONDAY = date(2026, 12, 7)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm))


def playlist(*entries: Dict[str, Any], version: str = "v1") -> Playlist:
    return parse_playlist({"format": 1, "version": version, "entries": list(entries)})


WEEKDAY_MORNINGS = {
    "name": "office",
    "file": "office.png",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "times": ["08:30-12:00"],
}
NIGHT = {"name": "night", "file": "night.jpg", "times": ["22:00-06:00"]}
DECEMBER = {"name": "december", "file": "dec.mp4", "from": "2026-12-01", "until": "2026-12-31"}
ALWAYS = {"name": "always", "file": "always.png", "duration": 5}


def test_entries_are_picked_by_day_time_and_date() -> None:
    plan = playlist(WEEKDAY_MORNINGS, NIGHT, DECEMBER, ALWAYS)
    names = lambda moment: [e.name for e in plan.active(moment)]  # noqa: E731
    assert names(at(MONDAY, 8, 29)) == ["december", "always"]
    assert names(at(MONDAY, 8, 30)) == ["office", "december", "always"]
    assert names(at(MONDAY, 11, 59)) == ["office", "december", "always"]
    assert names(at(MONDAY, 12, 0)) == ["december", "always"]  # the end is not in the window
    saturday = MONDAY + timedelta(days=5)
    assert names(at(saturday, 9)) == ["december", "always"]
    # over midnight: late evening and early morning, any day
    assert names(at(MONDAY, 23)) == ["night", "december", "always"]
    assert names(at(MONDAY, 5, 59)) == ["night", "december", "always"]
    assert names(at(MONDAY, 6)) == ["december", "always"]
    # the date range is inclusive at both ends
    assert names(at(date(2026, 12, 1), 0, 0))[-2:] == ["december", "always"]
    assert names(at(date(2026, 12, 31), 23, 59)) == ["night", "december", "always"]
    assert names(at(date(2027, 1, 1), 13)) == ["always"]
    assert names(at(date(2026, 11, 30), 13)) == ["always"]


def test_durations_default_for_images_and_videos_play_to_their_end() -> None:
    plan = playlist(WEEKDAY_MORNINGS, DECEMBER, ALWAYS)
    assert [e.shown_for for e in plan.entries] == [DEFAULT_DURATION, None, 5.0]
    assert [e.kind for e in plan.entries] == ["image", "video", "image"]


def test_end_of_day_window() -> None:
    window = (
        parse_playlist(
            {"version": "v", "entries": [{"name": "a", "file": "a.png", "times": ["18:00-24:00"]}]}
        )
        .entries[0]
        .times[0]
    )
    assert window == TimeWindow(time(18), None)
    assert window.contains(time(23, 59, 59))
    assert not window.contains(time(17, 59))
    assert str(window) == "18:00-24:00"


def test_a_playlist_survives_its_json_form() -> None:
    plan = playlist(WEEKDAY_MORNINGS, NIGHT, DECEMBER, ALWAYS)
    assert parse_playlist(json.loads(json.dumps(plan.to_json()))) == plan


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"duration": 0.5}, "entries[0] (office): duration: expected 1 to 3600 seconds, got 0.5"),
        ({"duration": "10"}, "entries[0] (office): duration: expected a number of seconds"),
        ({"duration": True}, "entries[0] (office): duration: expected a number of seconds"),
        ({"days": ["monday"]}, "entries[0] (office): days: expected days among mon, tue"),
        ({"days": []}, "entries[0] (office): days: expected a list of days"),
        ({"times": ["8:30-12:00"]}, 'entries[0] (office): times[0]: expected "HH:MM-HH:MM"'),
        ({"times": ["25:00-26:00"]}, "entries[0] (office): times[0]: no such time of day"),
        ({"times": ["24:00-01:00"]}, "entries[0] (office): times[0]: no such time of day"),
        (
            {"times": ["09:00-09:00"]},
            "entries[0] (office): times[0]: the window '09:00-09:00' is empty",
        ),
        ({"times": []}, "entries[0] (office): times: expected a list of 1 to 8"),
        ({"from": "2026-02-30"}, "entries[0] (office): from: no such date '2026-02-30'"),
        ({"until": "31/12/2026"}, 'entries[0] (office): until: expected a date "YYYY-MM-DD"'),
        (
            {"from": "2026-12-02", "until": "2026-12-01"},
            "entries[0] (office): until: 2026-12-01 is before from (2026-12-02)",
        ),
        ({"file": "../etc/passwd.png"}, "entries[0] (office): file: expected a plain file name"),
        ({"file": "clip.avi"}, "entries[0] (office): file: expected a plain file name"),
        ({"colour": "red"}, "entries[0] (office): unknown key(s) 'colour'"),
        ({"name": "has space"}, "entries[0]: name: expected 1 to 64 letters"),
    ],
)
def test_problems_name_the_entry_and_the_key(change: Dict[str, Any], message: str) -> None:
    with pytest.raises(PlaylistError) as caught:
        playlist({**WEEKDAY_MORNINGS, **change})
    assert str(caught.value).startswith(message), str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the playlist: expected a JSON object"),
        ({"version": "v", "entries": []}, "entries: expected a list of 1 to 64 entries"),
        ({"version": "v/1", "entries": [ALWAYS]}, "version: expected 1 to 64 letters"),
        ({"version": "v", "entries": [ALWAYS], "format": 2}, "format: expected 1, got 2"),
        ({"version": "v", "entries": [ALWAYS, ALWAYS]}, "entries[1] (always): name: used twice"),
        ({"version": "v", "entries": [ALWAYS] * (MAX_ENTRIES + 1)}, "entries: expected a list"),
        ({"version": "v", "entries": [ALWAYS], "extra": 1}, "unknown key(s) 'extra'"),
    ],
)
def test_problems_of_the_whole_playlist(document: Any, message: str) -> None:
    with pytest.raises(PlaylistError) as caught:
        parse_playlist(document)
    assert str(caught.value).startswith(message), str(caught.value)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_active_entries_loop_in_order_and_joiners_take_their_place() -> None:
    plan = playlist(ALWAYS, WEEKDAY_MORNINGS, {"name": "b", "file": "b.png"})
    clock = Clock(at(MONDAY, 8))
    sequence = Sequence(plan, clock)
    shown: List[str] = []
    for _ in range(4):
        entry = sequence.next()
        assert entry is not None
        shown.append(entry.name)
    assert shown == ["always", "b", "always", "b"]
    clock.now = at(MONDAY, 9)  # the office window opened: it plays after "always"
    names = [sequence.next().name for _ in range(4)]  # type: ignore[union-attr]
    assert names == ["always", "office", "b", "always"]
    clock.now = at(MONDAY, 12, 30)  # closed again: skipped
    assert [sequence.next().name for _ in range(3)] == ["b", "always", "b"]  # type: ignore[union-attr]


def test_nothing_to_show_outside_every_window() -> None:
    sequence = Sequence(playlist(WEEKDAY_MORNINGS), Clock(at(MONDAY, 20)))
    assert sequence.next() is None


# -- fuzz ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(["name", "file", "duration", "days", "times", "from", "until"])
VALUES = st.one_of(
    JSON,
    st.sampled_from(["mon", "sun", "08:00-09:00", "23:00-01:00", "2026-12-01", "a.png", "x.mp4"]),
    st.lists(st.sampled_from(["mon", "fri", "xx", "10:00-11:00", "99:99-00:00"]), max_size=3),
)


@pytest.mark.fuzz
@given(JSON)
def test_fuzz_any_json_is_a_playlist_or_a_playlist_error(document: Any) -> None:
    with contextlib.suppress(PlaylistError):
        parse_playlist(document)


@pytest.mark.fuzz
@given(st.lists(st.dictionaries(KEYS, VALUES, max_size=7), min_size=1, max_size=5))
def test_fuzz_entries_parse_whole_or_name_their_entry(entries: List[Dict[str, Any]]) -> None:
    try:
        plan = parse_playlist({"version": "v", "entries": entries})
    except PlaylistError as err:
        problem = str(err)
    else:
        assert parse_playlist(plan.to_json()) == plan
        for entry in plan.entries:
            entry.active(at(MONDAY, 12))  # every parsed entry can be asked
        return
    assert problem.startswith("entries")
