"""The ``[qrscanner]`` configuration section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Tuple

from ...fields import positive, seconds, setting


@dataclass(frozen=True)
class QrScannerSettings:
    """How scans are framed and decoded. The kind follows the port (/dev/input/event* → evdev)."""

    #: Serial scanners: what ends a code (``any`` accepts CR, LF and CR LF).
    terminator: Literal["any", "cr", "lf", "crlf"] = "any"
    #: Longest code accepted, in bytes or characters (a QR code holds at most 2953 bytes).
    max_length: int = setting(4096, expect="a length > 0", check=positive)
    #: Serial speed; most scanners ship at 9600.
    baudrate: int = setting(9600, expect="a baud rate > 0", check=positive)
    #: Keyboard-wedge scanners: the layout the scanner types in.
    layout: Literal["us", "fr"] = "us"
    #: Keyboard-wedge scanners: a scan without Enter for this long is dropped.
    scan_timeout: float = seconds(0.5)
    #: Input devices never grabbed: the kiosk's own keyboard, by name, phys path or VID:PID.
    keep_keyboards: Tuple[str, ...] = ()
