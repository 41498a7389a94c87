"""Debouncing with an injected clock, and the token-per-line decoder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.config import load_config
from govkiosk.devices.lines import LineTooLong
from govkiosk.devices.presence.debounce import Debouncer
from govkiosk.devices.presence.tokens import TokenDecoder, UnknownToken
from govkiosk.tables import ConfigError


def test_arrival_needs_presence_held_for_arrive_after() -> None:
    debouncer = Debouncer(arrive_after=1.0, leave_after=3.0)
    assert debouncer.update(True, 10.0) is None
    assert debouncer.deadline() == 11.0
    assert debouncer.update(True, 10.9) is None
    assert debouncer.poll(11.0) is True
    assert debouncer.present
    assert debouncer.deadline() is None


def test_departure_needs_absence_held_for_leave_after() -> None:
    debouncer = Debouncer(arrive_after=0.0, leave_after=3.0)
    assert debouncer.update(True, 0.0) is True
    assert debouncer.update(False, 1.0) is None
    assert debouncer.update(True, 2.0) is None  # bent down, came back: still present
    assert debouncer.update(False, 2.5) is None
    assert debouncer.poll(5.4) is None
    assert debouncer.poll(5.5) is False


@given(st.lists(st.floats(0.0, 0.99), min_size=1, max_size=50))
def test_flicker_shorter_than_the_hold_never_changes_state(gaps: list) -> None:
    debouncer = Debouncer(arrive_after=1.0, leave_after=1.0)
    now, raw = 0.0, True
    for gap in gaps:
        assert debouncer.update(raw, now) is None
        now += gap
        raw = not raw
        assert debouncer.poll(now) is None


def test_tokens_are_configurable_and_unknown_lines_reported() -> None:
    decoder = TokenDecoder(present=["PRESENT", "1"], absent=["ABSENT", "0"])
    assert decoder.feed(b"1\n0\r\nPRES") == [True, False]
    assert decoder.feed(b"ENT\r\n \r\nhello\n") == [True, UnknownToken(b"hello")]
    assert decoder.feed(b"x" * 100 + b"\n0\n") == [LineTooLong(100), False]


@given(st.binary(max_size=300))
def test_fuzz_token_decoder_never_raises(data: bytes) -> None:
    readings = TokenDecoder(["1"], ["0"]).feed(data)
    assert all(isinstance(r, (bool, UnknownToken, LineTooLong)) for r in readings)


def test_config_sections(tmp_path: Path) -> None:
    main = tmp_path / "govkiosk.toml"
    main.write_text(
        '[kiosk]\nid = "k1"\n[presence]\nkind = "lines"\npresent_tokens = ["ON"]\n'
        '[qrscanner]\nlayout = "fr"\nkeep_keyboards = ["05f3:0007"]\n'
    )
    config = load_config(main)
    assert (config.presence.kind, config.presence.present_tokens) == ("lines", ("ON",))
    assert config.qrscanner.keep_keyboards == ("05f3:0007",)
    main.write_text('[kiosk]\nid = "k1"\n[presence]\nleave_after = -1\n')
    with pytest.raises(ConfigError, match=r"presence\.leave_after: expected a number of seconds"):
        load_config(main)
