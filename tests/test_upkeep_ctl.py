"""``govkioskctl selftest`` and ``govkioskctl consumables`` against the real daemon on a
private bus."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from govkiosk.cli.main import main
from harness.dbus import PrivateBus
from harness.govkioskd import Govkioskd


class Ctl:
    def __init__(self, bus: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.bus = bus
        self.capsys = capsys

    def __call__(self, *argv: str) -> Tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            status = main(["--bus", self.bus, *argv])
        except SystemExit as exit:
            status = int(exit.code or 0)
        out, err = self.capsys.readouterr()
        return status, out, err


@contextlib.contextmanager
def kiosk(
    tmp_path: Path, bus: PrivateBus, capsys: pytest.CaptureFixture[str], extra: str = ""
) -> Iterator[Ctl]:
    daemon = Govkioskd(tmp_path / "kiosk", bus.address, extra)
    daemon.start()
    assert daemon.proc is not None
    tool = Ctl(bus.address, capsys)
    daemon.proc.wait_ready(lambda: tool("consumables")[0] == 0, 10, "govkioskd")
    try:
        yield tool
    finally:
        daemon.stop()


@pytest.fixture
def ctl(
    tmp_path: Path, private_bus: PrivateBus, capsys: pytest.CaptureFixture[str]
) -> Iterator[Ctl]:
    with kiosk(tmp_path, private_bus, capsys, "[consumables]\nreceipt_roll_mm = 50000\n") as tool:
        yield tool


def test_selftest_passes_on_a_healthy_kiosk_and_is_kept(ctl: Ctl) -> None:
    status, out, err = ctl("selftest", "--json")
    assert (status, err) == (0, ""), out
    result = json.loads(out)
    assert result["passed"]
    assert result["trigger"] == "manual"
    assert [c["name"] for c in result["checks"]] == [
        "services",
        "devices",
        "printers",
        "ups",
        "cameras",
        "disk",
    ]
    status, out, _ = ctl("consumables", "--json")
    report = json.loads(out)
    assert report["selftest"]["started"] == result["started"]
    assert report["availability"]["24h"] == 100.0
    receipt = report["consumables"][0]
    assert (receipt["name"], receipt["capacity"], receipt["remaining_percent"]) == (
        "receipt",
        50000,
        100.0,
    )
    status, out, _ = ctl("selftest")
    assert status == 0
    assert out.splitlines()[-1] == "self-test passed"


def test_a_refill_is_recorded(ctl: Ctl) -> None:
    status, out, err = ctl("consumables", "refill", "a4")
    assert (status, out, err) == (0, "a4 refilled: 100 % left\n", "")
    status, out, _ = ctl("consumables", "--json")
    assert json.loads(out)["consumables"][1]["refilled"] > 0
    status, _out, err = ctl("consumables", "refill", "toner")
    assert status == 2
    assert "invalid choice" in err


def test_a_failing_check_fails_the_command(
    tmp_path: Path, private_bus: PrivateBus, capsys: pytest.CaptureFixture[str]
) -> None:
    with kiosk(tmp_path, private_bus, capsys, "[selftest]\ndisk_min_mb = 10000000\n") as tool:
        status, out, _ = tool("selftest")
        assert status == 1
        assert "disk" in out
        assert "FAIL" in out
        assert out.splitlines()[-1] == "self-test FAILED"
