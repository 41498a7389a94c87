"""Megatec/Q1 protocol, pure: the documented replies, estimates, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.ups.errors import UpsProtocolError
from govkiosk.devices.ups.megatec import (
    BatteryModel,
    Q1Status,
    parse_identity,
    parse_q1,
    parse_rating,
    reply_in,
    to_state,
)

# The 47-byte reply from the Megatec description: on line, line-interactive.
Q1_TRACE = b"(226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\r"
BATTERY = BatteryModel(voltage_low=20.4, voltage_high=27.0, full_load_runtime=300.0)


def test_documented_q1_reply_by_column() -> None:
    assert len(Q1_TRACE) == 47
    status = parse_q1(Q1_TRACE)
    assert status == Q1Status(226.0, 195.0, 226.0, 14.0, 49.0, 27.5, 30.0, 0b00001000)
    assert status.tokens() == ("OL",)
    assert status.to_bytes() == Q1_TRACE


def test_status_bits_become_nut_tokens() -> None:
    # b7 utility fail, b6 battery low, b2 self-test, b1 shutdown active
    status = parse_q1(b"(000.0 000.0 220.0 050 50.0 21.0 35.0 11000110")
    assert status.tokens() == ("OB", "LB", "CAL", "FSD")
    state = to_state(status, BATTERY, "/dev/ttyS0")
    assert state.on_battery
    assert state.low_battery
    assert state.fsd
    assert state.self_test_running


def test_charge_and_runtime_estimates() -> None:
    half = to_state(parse_q1(b"(000.0 000.0 220.0 050 50.0 23.7 35.0 10001000"), BATTERY, "p")
    assert half.charge == 50.0
    assert half.runtime == 300.0  # full-load 300 s, half charge, half load
    assert BATTERY.charge(30.0) == 100.0
    assert BATTERY.charge(10.0) == 0.0
    assert BATTERY.runtime(100.0, 0.0) == 3000.0  # idle load is floored at 10 %


def test_dashes_mean_not_measured() -> None:
    status = parse_q1(b"(226.0 ----- 226.0 014 --.- 27.5 --.- 00001000")
    assert status.input_fault_voltage is None
    assert status.temperature is None


@pytest.mark.parametrize(
    "reply",
    [
        b"(226.0 195.0 226.0 014 49.0 27.5 30.0 0000100",  # a byte lost
        b"(226.0 195.0 226.0 014 49.0 27.5 30.0 00002000",  # not a bit
        b"(226.0195.0  226.0 014 49.0 27.5 30.0 00001000",  # columns shifted
        b"(2x6.0 195.0 226.0 014 49.0 27.5 30.0 00001000",  # not a number
        b"Q1",
    ],
)
def test_damaged_q1_replies_are_protocol_errors(reply: bytes) -> None:
    with pytest.raises(UpsProtocolError):
        parse_q1(reply)


def test_rating_and_identity() -> None:
    rating = parse_rating(b"#220.0 000 024.0 50.0\r")
    assert (rating.voltage, rating.battery_voltage, rating.frequency) == (220.0, 24.0, 50.0)
    spaced = parse_identity(b"#GOVKIOSK-SIM    Q1-1000    1.0       \r")
    packed = parse_identity(b"#GOVKIOSK-SIM   Q1-1000   1.0       ")
    assert spaced == packed
    assert (spaced.maker, spaced.model, spaced.firmware) == ("GOVKIOSK-SIM", "Q1-1000", "1.0")


def test_echoes_and_noise_are_not_replies() -> None:
    assert reply_in(b"Q1") is None  # a UPS echoing the command
    assert reply_in(b"\x00\xff(226.0 x") == b"(226.0 x"  # line noise before the reply
    assert reply_in(b"T") is None


q1_fields = st.tuples(
    *(st.one_of(st.none(), st.floats(0, 999.9).map(lambda v: round(v, 1))) for _ in range(3)),
    st.one_of(st.none(), st.integers(0, 999).map(float)),
    st.one_of(st.none(), st.floats(0, 99.9).map(lambda v: round(v, 1))),
    st.one_of(st.none(), st.floats(0, 99.9).map(lambda v: round(v, 1))),
    st.one_of(st.none(), st.floats(0, 99.9).map(lambda v: round(v, 1))),
    st.integers(0, 255),
)


@pytest.mark.fuzz
@given(q1_fields)
def test_q1_round_trips_through_the_simulator_encoding(fields: tuple) -> None:
    status = Q1Status(*fields)
    again = parse_q1(status.to_bytes())
    assert again.bits == status.bits
    assert again.load == status.load
    assert to_state(again, BATTERY, "p").status[0] in ("OL", "OB")


@pytest.mark.fuzz
@given(st.binary(max_size=80))
def test_any_bytes_parse_or_raise_a_protocol_error(data: bytes) -> None:
    for parse in (parse_q1, parse_rating, parse_identity):
        with contextlib.suppress(UpsProtocolError):
            parse(data)
