"""The DevTools pipe's framing and message parsing, fuzzed."""

from __future__ import annotations

import json
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.webapps.cdp import Message, NulFramer, encode_command, parse_message
from govkiosk.webapps.errors import DevToolsError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def test_reply_event_and_error() -> None:
    assert parse_message(b'{"id":3,"result":{"a":1}}') == Message(id=3, result={"a": 1})
    assert (
        parse_message(b'{"id":4,"error":{"code":-32000,"message":"No target"}}').error
        == "No target"
    )
    event = parse_message(b'{"method":"Page.loadEventFired","params":{"t":1},"sessionId":"S"}')
    assert (event.method, event.params, event.session_id) == ("Page.loadEventFired", {"t": 1}, "S")
    for bad in (
        b"[]",
        b'{"id":true}',
        b'{"id":"1"}',
        b"{}",
        b'{"method":1}',
        b"\xff",
        b'{"id":1,"result":[]}',
    ):
        with pytest.raises(DevToolsError):
            parse_message(bad)


def test_command_round_trip() -> None:
    raw = encode_command(7, "Page.navigate", {"url": "https://a.gov.cn/#x"}, "S1")
    assert raw.endswith(b"\0")
    assert raw.count(b"\0") == 1
    assert json.loads(raw[:-1]) == {
        "id": 7,
        "method": "Page.navigate",
        "params": {"url": "https://a.gov.cn/#x"},
        "sessionId": "S1",
    }


def test_framer_refuses_an_endless_message() -> None:
    framer = NulFramer(limit=16)
    assert framer.feed(b"0123456789") == []
    with pytest.raises(DevToolsError):
        framer.feed(b"0123456789")
    assert framer.feed(b"{}\0") == [b"{}"]  # the stream starts afresh after the refusal


@pytest.mark.fuzz
@given(st.lists(st.binary(max_size=40).filter(lambda b: b"\0" not in b), max_size=8), st.data())
def test_framer_splits_however_the_bytes_arrive(messages: List[bytes], data: st.DataObject) -> None:
    stream = b"".join(m + b"\0" for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    framer = NulFramer()
    out: List[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        out.extend(framer.feed(stream[start:end]))
    assert out == messages


@pytest.mark.fuzz
@given(st.binary(max_size=200))
def test_parser_never_fails_otherwise(data: bytes) -> None:
    try:
        message = parse_message(data)
    except DevToolsError:
        return
    assert message.id is not None or message.method


@pytest.mark.fuzz
@given(json_values)
def test_parser_on_any_json(value: object) -> None:
    try:
        message = parse_message(json.dumps(value).encode())
    except DevToolsError:
        return
    assert isinstance(value, dict)
    assert message.id is not None or message.method
