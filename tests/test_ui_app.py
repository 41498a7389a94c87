"""The UI as the kiosk runs it: a real daemon, a private bus, the UI on an X display."""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
from PIL import Image

from govkiosk.demo import SIMULATORS
from govkiosk_ui import fonts, i18n, theme
from govkiosk_ui.errors import FontNotFoundError
from govkiosk_ui.i18n import clock_text
from harness.dbus import PrivateBus
from harness.govkioskd import BIN, Govkioskd
from harness.process import Proc

TIMEOUT = 30.0
WIDTH, HEIGHT = 1280, 800


def ui_env(tmp_path: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["KIVY_HOME"] = str(tmp_path / "kivy")  # never the user's ~/.kivy
    return env


def near(pixel: tuple[int, ...], colour: theme.Colour, tolerance: int = 6) -> bool:
    return all(abs(p - round(c * 255)) <= tolerance for p, c in zip(pixel[:3], colour[:3]))


def assert_kiosk_screenshot(path: Path) -> None:
    """The frame is drawn (status bar, background) and the title is on it, not a blank."""
    image = Image.open(path).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    assert near(image.getpixel((4, 4)), theme.PRIMARY_DARK), "status bar"
    assert near(image.getpixel((4, HEIGHT // 2)), theme.BACKGROUND), "page background"
    title_band = image.crop((0, 150, WIDTH, 300))
    title_pixels = sum(1 for p in title_band.getdata() if near(p, theme.PRIMARY, 40))
    assert title_pixels > 2000, "the title is rendered"


@pytest.mark.ui
def test_ui_shows_status_goes_unavailable_and_recovers(
    tmp_path: Path, private_bus: PrivateBus
) -> None:
    daemon = Govkioskd(tmp_path / "daemon", private_bus.address)
    daemon.start()
    shot = tmp_path / "ui.png"
    ui = Proc(
        [str(BIN / "govkiosk-ui"), "--bus", private_bus.address, "--screenshot", str(shot)],
        tmp_path / "ui.log",
        env=ui_env(tmp_path),
    )
    try:
        ui.wait_ready(shot.exists, TIMEOUT, "UI screenshot")
        assert re.search(r"daemon available: (\d+)/\1 services running", ui.output())
        assert_kiosk_screenshot(shot)

        daemon.stop()
        ui.wait_ready(lambda: "showing service unavailable" in ui.output(), TIMEOUT, "unavailable")
        daemon.start()
        ui.wait_ready(
            lambda: ui.output().count("showing home") == 2, TIMEOUT, "home again after recovery"
        )
        assert ui.alive()
    finally:
        assert ui.stop() == 0, ui.output()
        daemon.stop()


@pytest.mark.ui
def test_demo_once_without_a_display_writes_a_screenshot(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    shot = tmp_path / "demo.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "govkiosk.demo",
            "--once",
            "--state-dir",
            str(tmp_path / "state"),
            "--screenshot",
            str(shot),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No $DISPLAY" in result.stdout
    assert f"screenshot written: {shot}" in result.stdout
    assert_kiosk_screenshot(shot)
    logs = tmp_path / "state" / "logs"
    assert {"govkioskd.log", "govkiosk-ui.log", "dbus-daemon.log", "xvfb.log", "mosquitto.log"} <= {
        p.name for p in logs.iterdir()
    }
    devices = (tmp_path / "state" / "etc" / "conf.d" / "50-demo-devices.toml").read_text()
    for sim in SIMULATORS:
        assert f'role = "{sim.role}"' in devices
        assert (logs / f"sim-{sim.family}.log").exists()


def test_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontNotFoundError, match="does not exist"):
        fonts.find_cjk_font(str(tmp_path / "none.ttf"))
    result = subprocess.run(
        [str(BIN / "govkiosk-ui"), "--font", str(tmp_path / "none.ttf")],
        env=ui_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "govkiosk-ui: font file" in result.stderr


def test_a_cjk_font_is_found_here() -> None:
    assert fonts.find_cjk_font().suffix in fonts.LOADABLE


def test_chinese_by_default_english_on_request() -> None:
    try:
        assert i18n.language() == "zh_CN"
        assert i18n._("Service temporarily unavailable") == "服务暂不可用"
        i18n.set_language("en")
        assert i18n._("Service temporarily unavailable") == "Service temporarily unavailable"
        with pytest.raises(ValueError, match="unsupported language"):
            i18n.set_language("fr")
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)


def test_clock_reads_naturally_in_both_languages() -> None:
    moment = datetime.datetime(2025, 3, 7, 9, 5)
    assert clock_text(moment) == "2025年3月7日  星期五  09:05"
    try:
        i18n.set_language("en")
        assert clock_text(moment) == "2025-03-07  Friday  09:05"
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
