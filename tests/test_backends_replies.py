"""A department's answers, however wrong, become a document or a typed BackendError."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.backends.base import (
    BackendError,
    BackendProtocolError,
    BackendRefusedError,
    BackendUnavailableError,
    DocumentResult,
)
from govkiosk.backends.http import MAX_RESPONSE, REFUSED, parse_document, parse_reply

HOST = "dept.example"
PDF = b"%PDF-1.7\n%fake\n"
GOOD: Dict[str, Any] = {
    "reference": "HLJ-2026-0001",
    "pages": 2,
    "summary": {"姓名": "张三"},
    "pdf": base64.b64encode(PDF).decode("ascii"),
}

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
statuses = st.integers(100, 599)


def _answer(status: int, payload: bytes) -> DocumentResult:
    return parse_document(parse_reply(HOST, status, payload))


def test_a_good_answer_is_the_document() -> None:
    result = _answer(200, json.dumps(GOOD).encode())
    assert result.pdf == PDF
    assert (result.reference, result.pages, result.summary) == (
        "HLJ-2026-0001",
        2,
        {"姓名": "张三"},
    )


@pytest.mark.parametrize(
    ("status", "payload", "error"),
    [
        (503, b"", BackendUnavailableError),
        (429, b"{}", BackendUnavailableError),
        (404, '{"code": "no_record", "message": "查无记录"}'.encode(), BackendRefusedError),
        (403, b"<html>", BackendRefusedError),
        (400, b"[]", BackendProtocolError),
        (302, b"{}", BackendProtocolError),
        (200, b"\xff\xfe", BackendProtocolError),
        (200, b"x" * (MAX_RESPONSE + 1), BackendProtocolError),
    ],
)
def test_each_kind_of_wrong_answer_has_its_error(status: int, payload: bytes, error: type) -> None:
    with pytest.raises(error):
        _answer(status, payload)


def test_a_refusal_with_an_overlong_message_shows_the_standard_one() -> None:
    with pytest.raises(BackendRefusedError) as refused:
        _answer(404, json.dumps({"code": "x", "message": "长" * 201}).encode())
    assert str(refused.value.message) == REFUSED


def test_a_document_that_is_not_ascii_base64_is_a_protocol_error() -> None:
    # Found by the fuzz test below: b64decode raises ValueError, not binascii.Error, for
    # a str with characters beyond ASCII.
    with pytest.raises(BackendProtocolError):
        parse_document(dict(GOOD, pdf="JVBERi0é"))


@pytest.mark.fuzz
@given(statuses, st.binary(max_size=300))
def test_any_status_and_bytes_give_a_document_or_a_backend_error(status: int, data: bytes) -> None:
    try:
        result = _answer(status, data)
    except BackendError:
        return
    assert status == 200
    assert result.pdf.startswith(b"%PDF-")


@pytest.mark.fuzz
@given(statuses, st.dictionaries(st.sampled_from([*GOOD, "code", "message", "extra"]), json_values))
def test_any_json_object_gives_a_document_or_a_backend_error(
    status: int, document: Dict[str, Any]
) -> None:
    payload = json.dumps(document, ensure_ascii=False).encode()
    outcome: object
    try:
        outcome = _answer(status, payload)
    except BackendError as err:
        outcome = err
    if isinstance(outcome, BackendRefusedError):
        assert 400 <= status < 500
        assert outcome.message.strip()
        assert len(outcome.message) <= 200
    elif isinstance(outcome, DocumentResult):
        assert status == 200
        assert 1 <= outcome.pages <= 50


@pytest.mark.fuzz
@given(
    st.sampled_from(sorted(GOOD)),
    json_values | st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
def test_one_field_of_a_good_answer_changed_gives_a_document_or_a_protocol_error(
    name: str, value: Any
) -> None:
    try:
        result = parse_document(dict(GOOD, **{name: value}))
    except BackendProtocolError:
        return
    assert result.pdf.startswith(b"%PDF-")
