"""The evdev scanner path (open, grab, read on the loop) against a recorded USB keyboard.

Runs under ``umockdev-wrapper`` only: ``make test-umockdev``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from evdev import ecodes as E

from govkiosk.bus import Event, EventBus
from govkiosk.devices.qrscanner.driver import EvdevScanner
from govkiosk.devices.qrscanner.errors import InputDeviceError
from govkiosk.devices.qrscanner.events import CodeScanned, ScanFailed
from govkiosk.devices.qrscanner.settings import QrScannerSettings
from govkiosk.devices.spec import DeviceSpec
from harness.evdev_replay import KeyboardReplay, write_key_script

pytestmark = pytest.mark.umockdev

SETTINGS = QrScannerSettings(scan_timeout=0.3)


def tap(code: int) -> List[Tuple[int, int]]:
    return [(code, 1), (code, 0)]


@pytest.fixture
def replay(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyboardReplay]:
    keys = getattr(request, "param", None)
    script = write_key_script(tmp_path / "keys.script", keys) if keys else None
    replay = KeyboardReplay(script)
    yield replay
    replay.close()


async def scan_events(
    replay: KeyboardReplay, settings: QrScannerSettings, count: int
) -> List[Event]:
    bus = EventBus()
    events: asyncio.Queue[Event] = asyncio.Queue()
    bus.subscribe(CodeScanned, events.put_nowait, personal=True)
    bus.subscribe(ScanFailed, events.put_nowait)
    scanner = EvdevScanner(
        DeviceSpec("qrscanner@event5", "qrscanner", replay.device), bus, lambda: settings
    )
    await scanner.start()
    try:
        return [await asyncio.wait_for(events.get(), 5) for _ in range(count)]
    finally:
        await scanner.stop()


async def test_recorded_keyboard_is_grabbed_and_a_scan_without_enter_times_out(
    replay: KeyboardReplay,
) -> None:
    # The recording: Enter released, "a" typed, Shift tapped — and no Enter after it.
    assert await scan_events(replay, SETTINGS, 1) == [
        ScanFailed("qrscanner@event5", "scan ended without Enter")
    ]


SCAN = [
    (E.KEY_LEFTSHIFT, 1), *tap(E.KEY_G), (E.KEY_LEFTSHIFT, 0),
    *tap(E.KEY_K), *tap(E.KEY_1), *tap(E.KEY_ENTER),
]  # fmt: skip


@pytest.mark.parametrize("replay", [SCAN], indirect=True)
async def test_a_scripted_scan_becomes_a_personal_event(replay: KeyboardReplay) -> None:
    assert await scan_events(replay, SETTINGS, 1) == [CodeScanned("qrscanner@event5", "Gk1")]


@pytest.mark.parametrize("keep", ["05f3:0007", "HID 05F3:0007"])
async def test_the_kiosk_keyboard_is_never_grabbed(replay: KeyboardReplay, keep: str) -> None:
    settings = dataclasses.replace(SETTINGS, keep_keyboards=(keep,))
    scanner = EvdevScanner(
        DeviceSpec("qrscanner@event5", "qrscanner", replay.device), EventBus(), lambda: settings
    )
    with pytest.raises(InputDeviceError, match="keep_keyboards; not grabbed"):
        await scanner.start()
    await scanner.stop()


async def test_a_missing_node_fails_with_a_clear_error(replay: KeyboardReplay) -> None:
    spec = DeviceSpec("qrscanner@event9", "qrscanner", "/dev/input/event9")
    scanner = EvdevScanner(spec, EventBus(), lambda: SETTINGS)
    with pytest.raises(InputDeviceError, match="/dev/input/event9: cannot open"):
        await scanner.start()
