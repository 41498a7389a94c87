"""Keyboard-wedge decoding over real ``evdev.InputEvent`` objects."""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

import pytest
from evdev import InputEvent, ecodes
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.qrscanner.keyboard import KeyDecoder, Outcome, Rejected, Scanned
from govkiosk.devices.qrscanner.keymaps import FR, US, Layout

E = ecodes


def key_events(keys: Iterable[Tuple[int, int]]) -> List[InputEvent]:
    """(code, value) pairs as the kernel delivers them: each followed by SYN_REPORT."""
    events = []
    for n, (code, value) in enumerate(keys):
        events.append(InputEvent(1700000000, n, E.EV_MSC, E.MSC_SCAN, 0x70000 + code))
        events.append(InputEvent(1700000000, n, E.EV_KEY, code, value))
        events.append(InputEvent(1700000000, n, E.EV_SYN, E.SYN_REPORT, 0))
    return events


def tap(code: int, *, shift: bool = False) -> List[Tuple[int, int]]:
    keys = [(code, 1), (code, 0)]
    return [(E.KEY_LEFTSHIFT, 1), *keys, (E.KEY_LEFTSHIFT, 0)] if shift else keys


def decode(keys: Iterable[Tuple[int, int]], layout: Layout = US) -> List[Outcome]:
    decoder = KeyDecoder(layout)
    outcomes: List[Optional[Outcome]] = [decoder.feed_event(e) for e in key_events(keys)]
    return [o for o in outcomes if o is not None]


def test_shifted_and_plain_characters_end_on_enter() -> None:
    keys = [
        *tap(E.KEY_H, shift=True),
        *tap(E.KEY_C),
        *tap(E.KEY_SEMICOLON, shift=True),
        *tap(E.KEY_1),
        *tap(E.KEY_2, shift=True),
        *tap(E.KEY_ENTER),
    ]
    assert decode(keys) == [Scanned("Hc:1@")]


def test_keypad_enter_also_ends_a_scan() -> None:
    assert decode([*tap(E.KEY_KP4), *tap(E.KEY_KP2), *tap(E.KEY_KPENTER)]) == [Scanned("42")]


def test_caps_lock_inverts_letters_only() -> None:
    keys = [
        *tap(E.KEY_CAPSLOCK),
        *tap(E.KEY_A),
        *tap(E.KEY_B, shift=True),
        *tap(E.KEY_1),
        *tap(E.KEY_CAPSLOCK),
        *tap(E.KEY_C),
        *tap(E.KEY_ENTER),
    ]
    assert decode(keys) == [Scanned("Ab1c")]


def test_azerty_layout_with_altgr() -> None:
    keys = [
        *tap(E.KEY_Q),  # a on AZERTY
        *tap(E.KEY_1, shift=True),  # 1 needs shift
        *tap(E.KEY_1),  # &
        (E.KEY_RIGHTALT, 1),
        *tap(E.KEY_0),  # @
        (E.KEY_RIGHTALT, 0),
        *tap(E.KEY_SEMICOLON),  # m
        *tap(E.KEY_ENTER),
    ]
    assert decode(keys, FR) == [Scanned("a1&@m")]


def test_an_unknown_key_rejects_the_whole_scan() -> None:
    keys = [*tap(E.KEY_A), *tap(E.KEY_F5), *tap(E.KEY_B), *tap(E.KEY_ENTER), *tap(E.KEY_C)]
    keys += tap(E.KEY_ENTER)
    outcomes = decode(keys)
    assert outcomes == [Rejected("key KEY_F5 has no character in layout us"), Scanned("c")]


def test_ctrl_combination_rejects_and_repeat_and_empty_scans_are_ignored() -> None:
    ctrl = [(E.KEY_LEFTCTRL, 1), *tap(E.KEY_V), (E.KEY_LEFTCTRL, 0), *tap(E.KEY_ENTER)]
    assert decode(ctrl) == [Rejected("key KEY_V has no character in layout us")]
    assert decode([(E.KEY_A, 1), (E.KEY_A, 2), (E.KEY_A, 2), (E.KEY_A, 0), *tap(E.KEY_ENTER)]) == [
        Scanned("a")
    ]
    assert decode(tap(E.KEY_ENTER)) == []


def test_expire_drops_a_partial_scan() -> None:
    decoder = KeyDecoder(US)
    for event in key_events(tap(E.KEY_A)):
        decoder.feed_event(event)
    assert decoder.pending
    assert decoder.expire() == Rejected("scan ended without Enter")
    assert not decoder.pending
    assert decoder.expire() is None


def test_length_limit() -> None:
    decoder = KeyDecoder(US, max_length=3)
    outcomes = [decoder.feed(c, v) for c, v in [*tap(E.KEY_A) * 4, *tap(E.KEY_ENTER)]]
    assert [o for o in outcomes if o] == [Rejected("longer than 3 characters")]


def test_scanned_repr_hides_the_code() -> None:
    assert "secret" not in repr(Scanned("secret"))


@pytest.mark.fuzz
@given(
    st.lists(st.tuples(st.integers(0, 0x2FF), st.integers(0, 2)), max_size=200),
    st.sampled_from([US, FR]),
)
def test_fuzz_any_key_sequence(keys: List[Tuple[int, int]], layout: Layout) -> None:
    decoder = KeyDecoder(layout, max_length=50)
    for code, value in keys:
        outcome = decoder.feed(code, value)
        assert outcome is None or isinstance(outcome, (Scanned, Rejected))
        if isinstance(outcome, Scanned):
            assert 0 < len(outcome.text) <= 50


@pytest.mark.fuzz
@given(st.text(alphabet="abcXYZ0189-_:/.?=&", min_size=1, max_size=40))
def test_typing_us_text_round_trips(text: str) -> None:
    by_char = {}
    for code, (plain, shifted) in US.keys.items():
        if code < E.KEY_KP7 or code > E.KEY_KPDOT:  # main block, as scanners type
            by_char.setdefault(plain, tap(code))
            by_char.setdefault(shifted, tap(code, shift=True))
    keys = [k for char in text for k in by_char[char]] + tap(E.KEY_ENTER)
    assert decode(keys) == [Scanned(text)]
