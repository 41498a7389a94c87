"""What a camera port names, and what an opened camera agreed to: no OpenCV here.

The daemon checks ports and reports modes with these; the capture worker process
(:mod:`.worker`, :mod:`.capture`) is the only one that opens cameras.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import shown
from .errors import CameraError

V4L2 = "v4l2"
STREAM = "stream"
FILE = "file"

STREAM_SCHEMES = ("http://", "https://", "rtsp://")


def kind_of(port: str) -> str:
    """:data:`V4L2`, :data:`STREAM` or :data:`FILE`; :class:`CameraError` for any other port."""
    if port.startswith(STREAM_SCHEMES):
        return STREAM
    if port.startswith("file://"):
        if not port[len("file://") :].startswith("/"):
            raise CameraError(f"{shown(port)}: a file port needs an absolute path (file:///…)")
        return FILE
    if port.startswith("/dev/"):
        return V4L2
    raise CameraError(
        f"{shown(port)!r} is not a camera port: expected /dev/videoN, http://host:port/path "
        "or file:///path"
    )


@dataclass(frozen=True)
class Negotiated:
    """What the camera agreed to, read back after opening."""

    width: int
    height: int
    fps: float  #: 0 when the source does not say (a network stream's rate is its own)
    fourcc: str  #: the pixel format or codec, ``""`` when unknown
    backend: str  #: OpenCV's name for the backend: ``V4L2``, ``FFMPEG``, ``CV_IMAGES``

    def __str__(self) -> str:
        rate = f"@{self.fps:g}" if self.fps else ""
        codec = f" {self.fourcc}" if self.fourcc else ""
        return f"{self.width}x{self.height}{rate}{codec} ({self.backend})"


def fourcc_code(text: str) -> int:
    """``"MJPG"`` → the number V4L2 and OpenCV use (``VideoWriter.fourcc``)."""
    return sum(ord(ch) << (8 * i) for i, ch in enumerate(text[:4]))


def fourcc_text(code: float) -> str:
    """The inverse of :func:`fourcc_code`; ``""`` when there is no printable code."""
    value = int(code)
    text = "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))
    return text if value and text.isprintable() else ""
