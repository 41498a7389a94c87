"""Fuzzing what the device checks read from outside: a report handed to the daemon (any
bytes, signed or not), the test page's text (any kiosk id), a card's fields."""

from __future__ import annotations

import base64
import datetime
import json
import random
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.cardcheck import Photo, judge
from govkiosk.ops.acceptance import AcceptanceError, check, problems
from govkiosk.printing import testpage

KEY = Ed25519PrivateKey.generate()
NAME = "acceptance-k1-20261206T083000.json"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.binary(max_size=400))
@settings(max_examples=200)
def test_any_signed_bytes_are_a_report_or_refused(data: bytes) -> None:
    signature = base64.b64encode(KEY.sign(data)).decode()
    # bytes that are not a whole report of this kiosk are refused, naming the report
    with pytest.raises(AcceptanceError, match=re.escape(NAME)):
        check(NAME, data, signature, KEY.public_key(), "k1")


@given(json_values)
def test_any_json_is_judged_without_error(value: object) -> None:
    found = problems(value)
    assert isinstance(found, list)
    data = json.dumps(value).encode()
    try:
        check(NAME, data, base64.b64encode(KEY.sign(data)).decode(), KEY.public_key(), "k1")
    except AcceptanceError:
        pass
    else:
        assert found == []


@given(st.text(max_size=40))
def test_the_test_page_takes_any_kiosk_id(kiosk_id: str) -> None:
    pdf = testpage.test_page(kiosk_id, "kiosk-a4", datetime.datetime(2026, 12, 6, 8, 30))
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.endswith(b"%%EOF\n")
    offset = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[offset:].startswith(b"xref")


@given(st.integers(min_value=0, max_value=2**32))
def test_a_read_card_is_judged_by_key_never_by_value(seed: int) -> None:
    identity = synthetic.resident(random.Random(seed))
    result = judge(identity, None)
    for value in identity.fields().values():
        if len(value) >= 4:
            assert value not in result.detail
    assert result.photo in (Photo.NOT_CHECKED, Photo.BLANK)
