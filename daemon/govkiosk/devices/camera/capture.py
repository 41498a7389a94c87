"""Opening a camera with OpenCV, by its port. Everything here BLOCKS: call it off the loop.

The port says how (:func:`source_of`):

- ``/dev/video0`` (or a ``/dev/v4l/by-id/…`` link): a UVC camera through V4L2. The pixel
  format (``MJPG`` by default) is asked for and read back: a camera that does not offer it
  keeps its own; width, height and frame rate are set from ``[camera]`` and read back.
- ``http://127.0.0.1:8081/rgb`` (also ``https://``, ``rtsp://``): a network stream read by
  OpenCV's FFmpeg backend — an MJPEG stream such as the simulator's
  (``multipart/x-mixed-replace``, one JPEG per part) or an IP camera. Open and read are
  bounded by timeouts, so a silent stream frees its thread.
- ``file:///srv/clips/face.avi`` or ``file:///srv/clips/img_%03d.png``: a recording. A
  path with a printf pattern is an image sequence (OpenCV's image backend), anything else
  a file FFmpeg reads. The path is taken literally (no percent-decoding, so ``%03d``
  stays a pattern). Recordings are paced to the configured frame rate and loop, so they
  stand in for a live camera.

A :class:`Capture` belongs to the thread that opened it: read and release it there. Only the
capture worker process (:mod:`.worker`) imports this module: the daemon never loads OpenCV
for its cameras.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import cv2
import numpy as np

from ..spec import shown
from .errors import CameraError
from .settings import Mode
from .sources import FILE, STREAM, V4L2, Negotiated, fourcc_code, fourcc_text, kind_of

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

__all__ = [
    "FILE",
    "STREAM",
    "V4L2",
    "Capture",
    "Negotiated",
    "Source",
    "fourcc_code",
    "fourcc_text",
    "probe",
    "source_of",
]


#: Open and read timeouts for FFmpeg sources: OpenCV 4.5.2 and later (Debian 12 has 4.6).
#: Older builds (Kylin V10's 4.2) open without them and their FFmpeg waits 30 s on a
#: silent stream; the driver's stall watchdog still tells the readers in time.
#: (Looked up when a camera is opened: OpenCV is only imported then, not at start.)
def _timeout_properties() -> Tuple[Optional[int], Optional[int]]:
    return (
        getattr(cv2, "CAP_PROP_OPEN_TIMEOUT_MSEC", None),
        getattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC", None),
    )


@dataclass(frozen=True)
class Source:
    """What a port means to OpenCV."""

    kind: str  #: :data:`V4L2`, :data:`STREAM` or :data:`FILE`
    target: str  #: what ``cv2.VideoCapture`` opens
    api: int  #: its backend (``cv2.CAP_V4L2`` …)

    @property
    def paced(self) -> bool:
        """A recording: read no faster than the frame rate, and loop at its end."""
        return self.kind == FILE


def source_of(port: str) -> Source:
    """The source a port names; :class:`CameraError` if it names none."""
    kind = kind_of(port)
    if kind == STREAM:
        return Source(STREAM, port, cv2.CAP_FFMPEG)
    if kind == FILE:
        path = port[len("file://") :]
        return Source(FILE, path, cv2.CAP_IMAGES if "%" in path else cv2.CAP_FFMPEG)
    return Source(V4L2, port, cv2.CAP_V4L2)


class Capture:
    """An open camera. Blocking; owned by the thread that opened it."""

    def __init__(
        self,
        source: Source,
        mode: Mode,
        *,
        open_timeout: float,
        read_timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.mode = mode
        self._open_timeout = open_timeout
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._clock = clock
        self._due = 0.0
        self._cap = self._open()
        try:
            self.negotiated = self._negotiate()
        except Exception:
            self._cap.release()
            raise

    def read(self) -> Optional[Image]:
        """The next frame, or ``None`` when the camera can no longer be read."""
        if self.source.paced:
            self._pace()
        image = self._grab()
        if image is None and self.source.paced:  # the recording ended: from the start
            self._cap.release()
            self._cap = self._open()
            image = self._grab()
        return image

    def release(self) -> None:
        self._cap.release()

    def _grab(self) -> Optional[Image]:
        try:
            ok, image = self._cap.read()
        except cv2.error as err:
            raise CameraError(f"{shown(self.source.target)}: read failed: {err}") from err
        if not ok or image is None:
            return None
        return np.asarray(image, dtype=np.uint8)

    def _pace(self) -> None:
        now = self._clock()
        if self._due > now:
            self._sleep(self._due - now)
        self._due = max(self._due, now) + 1.0 / self.mode.fps

    def _open(self) -> Any:
        params: List[int] = []
        OPEN_TIMEOUT, READ_TIMEOUT = _timeout_properties()
        if self.source.api == cv2.CAP_FFMPEG and OPEN_TIMEOUT is not None and READ_TIMEOUT:
            params = [
                OPEN_TIMEOUT,
                int(self._open_timeout * 1000),
                READ_TIMEOUT,
                int(self._read_timeout * 1000),
            ]
        try:
            if params:
                cap = cv2.VideoCapture(self.source.target, self.source.api, params)
            else:
                cap = cv2.VideoCapture(self.source.target, self.source.api)
        except cv2.error as err:
            raise CameraError(f"{shown(self.source.target)}: cannot be opened: {err}") from err
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"{shown(self.source.target)}: cannot be opened")
        return cap

    def _negotiate(self) -> Negotiated:
        cap = self._cap
        if self.source.kind == V4L2:
            # Format first: the sizes and rates a UVC camera offers depend on it.
            cap.set(cv2.CAP_PROP_FOURCC, fourcc_code(self.mode.fourcc))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.mode.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.mode.height)
            cap.set(cv2.CAP_PROP_FPS, self.mode.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a backlog
        fps = float(cap.get(cv2.CAP_PROP_FPS)) if self.source.kind != STREAM else 0.0
        if self.source.paced:
            fps = float(self.mode.fps)
        return Negotiated(
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps,
            fourcc=fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)),
            backend=str(cap.getBackendName()),
        )


def probe(source: Source, mode: Mode, open_timeout: float) -> Negotiated:
    """Open once, read back the mode, release: proves the camera is there. Blocking."""
    capture = Capture(source, mode, open_timeout=open_timeout, read_timeout=open_timeout)
    try:
        return capture.negotiated
    finally:
        capture.release()
