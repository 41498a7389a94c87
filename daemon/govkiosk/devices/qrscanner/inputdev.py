"""Opening a keyboard-wedge scanner's evdev node, grabbed, and never the kiosk's keyboard.

The grab (``EVIOCGRAB``) makes the scanner's key presses ours alone: without it a
scan would also be typed into whatever the UI has focused. The kiosk's real keyboard
(§6.2 PC keyboard) is named in ``keep_keyboards`` and refused here, so a wrong port in
the configuration can never lock it away from the maintenance engineer.
"""

from __future__ import annotations

from typing import Any, Iterable

import evdev

from .errors import InputDeviceError


def identities(device: Any) -> Iterable[str]:
    """What ``keep_keyboards`` may match: name, phys path and ``vvvv:pppp``."""
    info = device.info
    return (device.name, device.phys or "", f"{info.vendor:04x}:{info.product:04x}")


def open_grabbed(path: str, keep: Iterable[str]) -> Any:
    """Open ``path`` and grab it; blocking (ioctls): call it from an executor."""
    try:
        device = evdev.InputDevice(path)
    except OSError as err:
        raise InputDeviceError(f"{path}: cannot open: {err.strerror or err}") from err
    kept = {entry.lower() for entry in keep}
    if kept & {identity.lower() for identity in identities(device)}:
        device.close()
        raise InputDeviceError(f"{path}: is a keyboard listed in keep_keyboards; not grabbed")
    try:
        device.grab()
    except OSError as err:
        device.close()
        raise InputDeviceError(f"{path}: cannot grab: {err.strerror or err}") from err
    return device
