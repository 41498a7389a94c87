"""What the camera drivers tell the rest of the daemon: state only, never an image."""

from __future__ import annotations

from dataclasses import dataclass

from ...bus import Event

#: States of a camera.
READY = "ready"  #: opened once at start and released; captures when a stream is held
STREAMING = "streaming"  #: frames are flowing to at least one stream
STALLED = "stalled"  #: no frame for ``stall_after`` while streaming
GONE = "gone"  #: cannot be opened or read (unplugged, simulator away), or its driver stopped
STATES = (READY, STREAMING, STALLED, GONE)


@dataclass(frozen=True)
class CameraStateChanged(Event):
    role: str
    device_id: str
    state: str
    detail: str  #: the mode when ready (``640x480@30 MJPG``), the reason otherwise
