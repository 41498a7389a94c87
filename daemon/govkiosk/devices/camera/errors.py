"""The camera family's exceptions; messages name the role so an integrator knows which one."""

from __future__ import annotations

from ...errors import GovkioskError


class CameraError(GovkioskError):
    """A camera cannot be used."""


class CameraUnavailable(CameraError):
    """No camera of the role asked for is up: none configured, or its driver is restarting."""


class CameraLost(CameraError):
    """A camera stopped delivering frames while it was streaming (stalled or unplugged)."""


class FrameTimeout(CameraLost):
    """No frame within the time the reader allowed; the camera may still recover."""


class CameraBusy(CameraError):
    """Refused while a citizen's session is in progress (§8 d)."""
