"""Upkeep's pure parts: availability over transitions, consumables' levels, the schedule,
the receipt length estimate and the configuration keys."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.config import load_config
from govkiosk.devices.receipt.escpos import Cut, Feed, Line, QrCode, Receipt, Style, length_mm
from govkiosk.tables import ConfigError
from govkiosk.upkeep.availability import (
    DOWN,
    IN_SERVICE,
    OUT_OF_SERVICE,
    STATES,
    durations,
    uptime_percent,
)
from govkiosk.upkeep.consumables import A4, RECEIPT, crossed, level
from govkiosk.upkeep.errors import UnknownConsumableError
from govkiosk.upkeep.service import next_run
from govkiosk.upkeep.settings import ConsumablesSettings, SelfTestSettings

KIOSK = '[kiosk]\nid = "test-hlj-0001"\nname = "测试"\n'


def test_uptime_counts_only_the_known_part_of_the_span() -> None:
    transitions = [(100.0, IN_SERVICE), (200.0, OUT_OF_SERVICE), (250.0, IN_SERVICE), (300.0, DOWN)]
    spent = durations(transitions, 0.0, 400.0)
    assert spent == {IN_SERVICE: 150.0, OUT_OF_SERVICE: 50.0, DOWN: 100.0}
    assert uptime_percent(transitions, 0.0, 400.0) == pytest.approx(50.0)
    # A span starting inside a state counts from the span's start.
    assert durations(transitions, 150.0, 260.0) == {
        IN_SERVICE: 60.0,
        OUT_OF_SERVICE: 50.0,
        DOWN: 0.0,
    }
    assert uptime_percent([], 0.0, 10.0) is None
    assert uptime_percent([(50.0, IN_SERVICE)], 0.0, 40.0) is None


@given(
    st.lists(st.tuples(st.floats(0, 1000, allow_nan=False), st.sampled_from(STATES)), max_size=30),
    st.floats(0, 1000, allow_nan=False),
    st.floats(0, 1000, allow_nan=False),
)
def test_durations_never_exceed_the_span(
    transitions: List[Tuple[float, str]], start: float, length: float
) -> None:
    transitions.sort(key=lambda t: t[0])
    end = start + length
    spent = durations(transitions, start, end)
    assert all(value >= 0 for value in spent.values())
    assert sum(spent.values()) <= length + 1e-6
    percent = uptime_percent(transitions, start, end)
    assert percent is None or 0.0 <= percent <= 100.0 + 1e-9


def test_a_level_is_low_below_the_threshold_and_crosses_once() -> None:
    settings = ConsumablesSettings(receipt_roll_mm=10000, a4_tray_sheets=500, warn_percent=10)
    full = level(RECEIPT, 0.0, 0.0, settings)
    near = level(RECEIPT, 8900.0, 0.0, settings)
    low = level(RECEIPT, 9100.0, 0.0, settings)
    lower = level(RECEIPT, 9500.0, 0.0, settings)
    assert (full.remaining_percent, full.low) == (100.0, False)
    assert (near.low, low.low) == (False, True)
    assert crossed(near, low)
    assert not crossed(low, lower)
    assert level(A4, 600.0, 0.0, settings).as_dict()["remaining"] == 0.0
    with pytest.raises(UnknownConsumableError):
        level("toner", 0.0, 0.0, settings)


def test_next_run_is_the_next_local_time_of_day() -> None:
    morning = datetime.datetime(2026, 12, 6, 2, 0).timestamp()
    assert datetime.datetime.fromtimestamp(next_run(morning, "03:30")) == datetime.datetime(
        2026, 12, 6, 3, 30
    )
    later = datetime.datetime(2026, 12, 6, 3, 30).timestamp()
    assert datetime.datetime.fromtimestamp(next_run(later, "03:30")) == datetime.datetime(
        2026, 12, 7, 3, 30
    )


def test_a_receipt_length_grows_with_its_lines_and_size() -> None:
    one = length_mm(Receipt((Line("a"),)))
    assert one == pytest.approx(25.4 / 6)
    tall = length_mm(Receipt((Line("a", Style(height=2)),)))
    assert tall == pytest.approx(2 * one)
    slip = Receipt((Line("a"), Line("b"), QrCode("https://verify.example/r/0001"), Feed(2), Cut()))
    assert 40 < length_mm(slip) < 80


def test_the_keys_have_defaults_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text(KIOSK, encoding="utf-8")
    config = load_config(path)
    assert config.selftest == SelfTestSettings()
    assert (config.selftest.time, config.consumables.receipt_roll_mm) == ("03:30", 80000)
    assert config.consumables.a4_tray_sheets == 500
    path.write_text(
        KIOSK + '[selftest]\ntime = "25:00"\n[consumables]\nwarn_percent = 0\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "selftest.time" in text
    assert "consumables.warn_percent" in text
