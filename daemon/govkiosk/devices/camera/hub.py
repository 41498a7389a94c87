"""The daemon's cameras by role: which are up, and streams of their frames.

One :class:`CameraHub` per daemon (the device layer builds it). Each camera driver
attaches itself while it is up and detaches when it fails or stops; features ask the hub
for a role, never for a driver::

    async with hub.stream("face_camera_rgb") as frames:
        frame = await frames.next(timeout=1.0)

``stream`` raises :class:`CameraUnavailable` at once when no camera of that role is up.
The camera captures only while at least one stream is held.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import AsyncIterator, Dict, List, Optional, Protocol

from .errors import CameraError, CameraUnavailable
from .frames import Frame, FrameStream

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraInfo:
    """One camera as ``ListCameras`` and ``govkioskctl camera list`` show it."""

    role: str
    id: str
    port: str
    state: str  #: one of :data:`~.events.STATES`
    detail: str = ""
    width: int = 0  #: as negotiated at the last open; 0 before the first
    height: int = 0
    fps: float = 0.0  #: as negotiated (0: the source does not say)
    measured_fps: float = 0.0  #: frames per second delivered while streaming

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width else ""


class CameraSource(Protocol):
    """What the hub needs of a camera driver."""

    @property
    def role(self) -> str: ...

    @property
    def name(self) -> str: ...

    def open_stream(self) -> FrameStream:
        """A new stream; starts capturing if it is the first."""

    def close_stream(self, stream: FrameStream) -> None:
        """Forget ``stream``; stops capturing after the last."""


class CameraHub:
    def __init__(self) -> None:
        self._live: Dict[str, CameraSource] = {}
        self._known: Dict[str, CameraInfo] = {}

    def attach(self, source: CameraSource) -> None:
        """A driver is up: streams of its role go to it."""
        other = self._live.get(source.role)
        if other is not None and other is not source:
            raise CameraError(
                f"{source.name}: another {source.role} camera ({other.name}) is in use; "
                "a kiosk has one camera per role"
            )
        self._live[source.role] = source

    def detach(self, source: CameraSource) -> None:
        """A driver failed or stopped: new streams of its role are refused until it is back."""
        if self._live.get(source.role) is source:
            del self._live[source.role]

    def update(self, info: CameraInfo) -> None:
        """What a driver reports of its camera, kept for :meth:`cameras`."""
        self._known[info.id] = info

    def available(self, role: str) -> bool:
        return role in self._live

    def roles(self) -> List[str]:
        """Roles with a camera up, sorted."""
        return sorted(self._live)

    def cameras(self) -> List[CameraInfo]:
        """Every camera a driver has reported, by role then id."""
        return sorted(self._known.values(), key=lambda c: (c.role, c.id))

    def info(self, role: str) -> Optional[CameraInfo]:
        """The camera serving ``role`` now, else the last reported one of that role."""
        live = self._live.get(role)
        if live is not None and live.name in self._known:
            return self._known[live.name]
        same = [c for c in self.cameras() if c.role == role]
        return same[0] if same else None

    @contextlib.asynccontextmanager
    async def stream(self, role: str) -> AsyncIterator[FrameStream]:
        """Frames of the camera of ``role`` while the context is held."""
        source = self._live.get(role)
        if source is None:
            raise CameraUnavailable(self._why_not(role))
        stream = source.open_stream()
        try:
            yield stream
        finally:
            source.close_stream(stream)

    async def grab(self, role: str, timeout: Optional[float] = None) -> Frame:
        """One frame of ``role``: a stream held just long enough for the next frame."""
        async with self.stream(role) as frames:
            return await frames.next(timeout)

    def _why_not(self, role: str) -> str:
        info = self.info(role)
        if info is None:
            return f"no {role} camera is configured or found"
        reason = f": {info.detail}" if info.detail else ""
        return f"the {role} camera ({info.id}) is not available ({info.state}{reason})"
