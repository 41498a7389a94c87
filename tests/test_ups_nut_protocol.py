"""NUT protocol, pure: captured upsd replies, typed errors, and fuzzing of the line parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.ups.errors import (
    NutAccessError,
    NutServerError,
    NutStaleError,
    NutUnknownUpsError,
    UpsError,
    UpsProtocolError,
)
from govkiosk.devices.ups.nut import (
    ListQuery,
    command,
    is_nut_port,
    parse_address,
    parse_get_var,
    parse_list,
    parse_reply,
    quote,
    split_line,
    state_from_vars,
    vars_from_items,
)

# `upsc kioskups` against upsd 2.8.0, as sent on the wire.
LIST_VAR_TRACE = [
    "BEGIN LIST VAR kioskups",
    'VAR kioskups battery.charge "100"',
    'VAR kioskups battery.runtime "1800"',
    'VAR kioskups device.model "Kiosk \\"UPS\\" 1000 \\\\ rev B"',
    'VAR kioskups ups.status "OB LB DISCHRG XYZZY"',
    'VAR kioskups ups.load "14"',
    'VAR kioskups ups.temperature "n/a"',
    "END LIST VAR kioskups",
]


def test_list_var_trace_becomes_a_state_keeping_unknown_tokens() -> None:
    query = ListQuery(("VAR", "kioskups"))
    variables = vars_from_items(parse_list(query, LIST_VAR_TRACE))
    assert variables["device.model"] == 'Kiosk "UPS" 1000 \\ rev B'
    state = state_from_vars(variables, "nut://127.0.0.1:3493/kioskups")
    assert state.status == ("OB", "LB", "DISCHRG", "XYZZY")
    assert state.on_battery
    assert state.low_battery
    assert not state.on_line
    assert not state.fsd
    assert (state.charge, state.runtime, state.load) == (100.0, 1800.0, 14.0)
    assert state.temperature is None  # unparsable figures are absent, not a crash


def test_list_ups_trace() -> None:
    lines = ["BEGIN LIST UPS", 'UPS kioskups "kiosk UPS"', "END LIST UPS"]
    assert parse_list(ListQuery(("UPS",)), lines) == [["kioskups", "kiosk UPS"]]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("ERR DATA-STALE", NutStaleError),
        ("ERR DRIVER-NOT-CONNECTED", NutStaleError),
        ("ERR UNKNOWN-UPS", NutUnknownUpsError),
        ("ERR ACCESS-DENIED", NutAccessError),
        ("ERR INVALID-PASSWORD", NutAccessError),
        ("ERR SOMETHING-NEW extra words", NutServerError),
    ],
)
def test_err_lines_raise_typed_errors(line: str, error: type) -> None:
    with pytest.raises(error) as caught:
        parse_reply(line)
    assert caught.value.token == line.split()[1]


def test_an_error_in_the_middle_of_a_list_is_raised() -> None:
    with pytest.raises(NutStaleError):
        parse_list(ListQuery(("VAR", "u")), ["BEGIN LIST VAR u", "ERR DATA-STALE"])


def test_get_var_reply_must_name_what_was_asked() -> None:
    assert parse_get_var(split_line('VAR u ups.status "OL"'), "u", "ups.status") == "OL"
    with pytest.raises(UpsProtocolError):
        parse_get_var(split_line('VAR other ups.status "OL"'), "u", "ups.status")


@pytest.mark.parametrize("line", ['VAR u x "open', 'VAR u x "ends in escape\\'])
def test_malformed_lines_are_protocol_errors(line: str) -> None:
    with pytest.raises(UpsProtocolError):
        split_line(line)


def test_commands_quote_only_what_needs_it() -> None:
    assert command("GET", "VAR", "u", "ups.status") == b"GET VAR u ups.status\n"
    assert command("PASSWORD", 'pa ss"\\') == b'PASSWORD "pa ss\\"\\\\"\n'


def test_nut_address_with_and_without_credentials() -> None:
    address = parse_address("nut://mon:p%40ss@10.0.0.5/kioskups")
    assert (address.host, address.port, address.ups) == ("10.0.0.5", 3493, "kioskups")
    assert (address.user, address.password) == ("mon", "p@ss")
    assert "p@ss" not in address.source
    assert address.source == "nut://10.0.0.5:3493/kioskups"
    assert is_nut_port("nut://h/u")
    assert not is_nut_port("/dev/ttyS0")
    with pytest.raises(UpsError) as caught:
        parse_address("nut://mon:secret@host/")
    assert "secret" not in str(caught.value)


words = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"))


@pytest.mark.fuzz
@given(st.lists(words, min_size=1, max_size=6))
def test_quote_and_split_round_trip(values: list) -> None:
    assert split_line(" ".join(quote(v) for v in values)) == values


@pytest.mark.fuzz
@given(st.text(max_size=200))
def test_any_line_parses_or_raises_a_protocol_error(line: str) -> None:
    with contextlib.suppress(UpsError):
        parse_reply(line)


@pytest.mark.fuzz
@given(st.lists(st.text(max_size=60), max_size=12))
def test_any_list_reply_parses_or_raises_an_ups_error(lines: list) -> None:
    try:
        items = parse_list(ListQuery(("VAR", "u")), lines)
    except UpsError:
        return
    state_from_vars(vars_from_items(items), "x")
