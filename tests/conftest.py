"""Fixtures: real components on loopback (tests/harness), one per test unless named otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from harness.dbus import PrivateBus

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def private_bus(tmp_path: Path) -> Iterator[PrivateBus]:
    bus = PrivateBus(tmp_path / "dbus")
    yield bus
    bus.stop()
