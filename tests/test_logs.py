"""The logging guard (§8 d): nothing shaped like personal data reaches a log line."""

from __future__ import annotations

import io
import logging
from typing import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.contract.logs import (
    WITHHELD,
    PersonalDataFilter,
    SensitiveTerms,
    looks_personal,
    setup_logging,
)

# Synthetic: region 230102, born 1990-03-07, check character computed (ISO 7064 MOD 11-2).
SYNTHETIC_ID = "23010219900307123" + "X"


def check_char(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("debug", stream=stream)
    yield stream
    root.handlers[:], root.level = saved


def test_resident_id_numbers_are_withheld_with_the_whole_record(captured: io.StringIO) -> None:
    log = logging.getLogger("govkiosk.devices.idcard")
    log.info("read card of %s living at 哈尔滨市南岗区", SYNTHETIC_ID)
    log.info("card removed")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2
    assert WITHHELD in lines[0]
    assert "devices.idcard" in lines[0]  # which logger tried is still known
    assert SYNTHETIC_ID not in captured.getvalue()
    assert "南岗区" not in captured.getvalue()
    assert lines[1].endswith("devices.idcard: card removed")


def test_exceptions_carrying_personal_data_are_withheld(captured: io.StringIO) -> None:
    def query() -> None:
        raise ValueError(f"no record for {SYNTHETIC_ID.lower()}")

    try:
        query()
    except ValueError:
        logging.getLogger("govkiosk.items").exception("query failed")
    assert SYNTHETIC_ID.lower() not in captured.getvalue()
    assert "Traceback" not in captured.getvalue()
    assert WITHHELD in captured.getvalue()


def test_old_ids_and_mobile_numbers(captured: io.StringIO) -> None:
    logging.getLogger("govkiosk").warning("old id 230102900307123")
    logging.getLogger("govkiosk").warning("call 13812345678")
    logging.getLogger("govkiosk").warning("job 20240101 done in 1234 ms")
    out = captured.getvalue()
    assert out.count(WITHHELD) == 2
    assert "job 20240101 done in 1234 ms" in out


def test_session_terms_are_withheld_until_cleared(captured: io.StringIO) -> None:
    terms = SensitiveTerms()
    root = logging.getLogger()
    root.handlers[0].filters.clear()
    root.handlers[0].addFilter(PersonalDataFilter(terms))
    terms.add("欧阳明", "王")  # single characters are too common to withhold on
    logging.getLogger("govkiosk.session").info("welcome 欧阳明")
    logging.getLogger("govkiosk.session").info("王府井 is a street")
    terms.clear()
    logging.getLogger("govkiosk.session").info("bye 欧阳明")
    lines = captured.getvalue().splitlines()
    assert WITHHELD in lines[0]
    assert lines[1].endswith("王府井 is a street")
    assert lines[2].endswith("bye 欧阳明")


def test_journald_lines_carry_syslog_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("info", stream=stream)
        logging.getLogger("govkiosk.devices.ups").warning("on battery\nsecond line")
    finally:
        root.handlers[:], root.level = saved
    assert stream.getvalue().splitlines() == ["<4>devices.ups: on battery", "<4>second line"]


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_valid_resident_id_is_caught(body: str) -> None:
    region, birth = "230102", "19850615"
    number = region + birth + body[:3]
    number += check_char(number)
    assert looks_personal(f"id={number};")
