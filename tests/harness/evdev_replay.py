"""A recorded USB keyboard replayed by umockdev, for the evdev (keyboard-wedge) path.

Needs the test process to run under ``umockdev-wrapper`` (``make test-umockdev``).
The testbed puts the recorded sysfs tree and ``/dev/input/event5`` in place; reads of
that node replay a script of ``struct input_event`` records, ioctls are answered from
the extended ioctl recording (see ``tests/fixtures/umockdev/README.md``).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, Iterable, Optional, Tuple

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402 - after require_version, as gi requires

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "umockdev"
DEVICE = "/dev/input/event5"
RECORDED_SCRIPT = FIXTURES / "usbkbd.evtest.script.64"

EV_SYN, EV_KEY, EV_MSC, MSC_SCAN = 0, 1, 4, 4
_EVENT = struct.Struct("<qqHHi")  # struct input_event on 64-bit Linux


def _caret(data: bytes) -> bytes:
    """umockdev's script encoding: control bytes as ``^`` + (byte + 64)."""
    if b"^" in data:
        raise ValueError("choose timestamps and codes without a 0x5e byte")
    return b"".join(b"^" + bytes([b + 64]) if b < 32 else bytes([b]) for b in data)


def write_key_script(path: Path, keys: Iterable[Tuple[int, int]], delay_ms: int = 20) -> Path:
    """A script that types ``(code, value)`` key events, each with its scan code and SYN."""
    lines = []
    for n, (code, value) in enumerate(keys):
        sec, usec = 1700000001, 1000 * (n + 1)
        data = b"".join(
            _EVENT.pack(sec, usec, kind, event_code, event_value)
            for kind, event_code, event_value in (
                (EV_MSC, MSC_SCAN, 0x70000 + code),
                (EV_KEY, code, value),
                (EV_SYN, 0, 0),
            )
        )
        lines.append(b"r %d " % delay_ms + _caret(data) + b"\n")
    path.write_bytes(b"".join(lines))
    return path


class KeyboardReplay:
    """The recorded keyboard in a umockdev testbed; ``script`` replays on reads."""

    def __init__(self, script: Optional[Path] = None) -> None:
        self.testbed: Any = UMockdev.Testbed.new()
        self.testbed.add_from_file(str(FIXTURES / "usbkbd.umockdev"))
        self.testbed.load_ioctl(DEVICE, str(FIXTURES / "usbkbd.evdev.ioctl"))
        self.testbed.load_script(DEVICE, str(script or RECORDED_SCRIPT))
        self.device = DEVICE

    def close(self) -> None:
        self.testbed = None
