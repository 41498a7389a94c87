"""The messages between a camera driver and its capture worker process: bytes ⇄ dataclasses.

Pure (no I/O). Each message is one record of a multiprocessing pipe (its own length
prefix, read with a bound: :data:`MAX_MESSAGE`); inside, the first byte is the kind and
the rest fixed big-endian fields, then at most one variable part. Nothing is pickled:
the worker parses camera streams with FFmpeg and may be made to misbehave by one, so the
daemon reads only what :func:`decode` accepts, and everything else is a
:class:`WireError`.

The driver says :class:`Open` (probe or capture), :class:`Stop` and :class:`Credit`; the
worker answers :class:`Opened`, :class:`FrameData`, :class:`Failed` and :class:`Stopped`.
Every message but the credit names the run it belongs to, so answers to a run the
driver has left are recognised and dropped. A capture run sends a frame only against a
credit (the driver's queue depth at the open, one more for each frame the driver took):
a busy daemon never has more than a few frames in flight, and the worker drops the rest.

Frame pixels are images of people: they cross in memory only (§8 d).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Union

from .errors import CameraError
from .settings import Mode
from .sources import Negotiated

#: A frame's side is at most this many pixels; its channels 1 (grey) or 3 (BGR).
MAX_SIDE = 8192
MAX_PIXELS = 4096 * 4096 * 3
#: Text fields (a port, a backend's name, a failure's reason) are cut to this many bytes.
MAX_TEXT = 1024
_FRAME_HEAD = struct.Struct(">BIIdHHB")  # kind, run, seq, at, height, width, channels
#: The largest record either side reads.
MAX_MESSAGE = _FRAME_HEAD.size + MAX_PIXELS

OPEN, STOP, CREDIT = 1, 2, 3
OPENED, FRAME, FAILED, STOPPED = 10, 11, 12, 13

_OPEN = struct.Struct(">BIBHHH4sffB")  # kind, run, probe, w, h, fps, fourcc, open, read, depth
_RUN = struct.Struct(">BI")  # kind, run (stop, stopped; a failure's head)
_CREDIT = struct.Struct(">BIH")  # kind, run, frames
_OPENED = struct.Struct(">BIBIIf4s")  # kind, run, probe, width, height, fps, fourcc


class WireError(CameraError):
    """A message between the daemon and its capture worker that is not one."""


@dataclass(frozen=True)
class Open:
    """Open the camera at ``port``: a probe (open, read the mode back, release) or a capture."""

    run: int
    port: str
    mode: Mode
    open_timeout: float
    read_timeout: float
    probe: bool = False
    depth: int = 2  #: frames the worker may send before the first credit


@dataclass(frozen=True)
class Stop:
    """Stop capturing and release the camera; answered by :class:`Stopped`."""

    run: int


@dataclass(frozen=True)
class Credit:
    """The driver took ``frames`` frames of ``run``: the worker may send as many more."""

    run: int
    frames: int = 1


@dataclass(frozen=True)
class Opened:
    """The camera of ``run`` is open (a capture) or was opened and released (a probe)."""

    run: int
    negotiated: Negotiated
    probe: bool = False


@dataclass(frozen=True)
class FrameData:
    """One frame: ``height × width × channels`` bytes of BGR (or grey) pixels, row by row."""

    run: int
    seq: int
    at: float  #: ``time.monotonic()`` in the worker (the same clock as the daemon's)
    height: int
    width: int
    channels: int
    pixels: Union[bytes, memoryview] = field(repr=False)  #: decoded: a view, not a copy


@dataclass(frozen=True)
class Failed:
    """The camera of ``run`` could not be opened or read; ``reason`` says why."""

    run: int
    reason: str


@dataclass(frozen=True)
class Stopped:
    run: int


Message = Union[Open, Stop, Credit, Opened, FrameData, Failed, Stopped]


def _text(value: str) -> bytes:
    return value.encode("utf-8")[:MAX_TEXT]


def _fourcc(value: str) -> bytes:
    return value.encode("ascii", "replace")[:4].ljust(4, b"\0")


def _u32(value: int) -> int:
    return value & 0xFFFFFFFF


def encode(message: Message) -> Union[bytes, bytearray]:
    """The record for ``message``."""
    if isinstance(message, FrameData):
        record = bytearray(_FRAME_HEAD.size + len(message.pixels))  # one copy of the pixels
        _FRAME_HEAD.pack_into(
            record,
            0,
            FRAME,
            _u32(message.run),
            _u32(message.seq),
            message.at,
            message.height,
            message.width,
            message.channels,
        )
        record[_FRAME_HEAD.size :] = message.pixels
        return record
    if isinstance(message, Open):
        mode = message.mode
        return _OPEN.pack(
            OPEN,
            _u32(message.run),
            int(message.probe),
            mode.width,
            mode.height,
            mode.fps,
            _fourcc(mode.fourcc),
            message.open_timeout,
            message.read_timeout,
            message.depth,
        ) + _text(message.port)
    if isinstance(message, Credit):
        return _CREDIT.pack(CREDIT, _u32(message.run), message.frames)
    if isinstance(message, Opened):
        n = message.negotiated
        return _OPENED.pack(
            OPENED,
            _u32(message.run),
            int(message.probe),
            n.width,
            n.height,
            n.fps,
            _fourcc(n.fourcc),
        ) + _text(n.backend)
    if isinstance(message, Failed):
        return _RUN.pack(FAILED, _u32(message.run)) + _text(message.reason)
    if isinstance(message, Stop):
        return _RUN.pack(STOP, _u32(message.run))
    return _RUN.pack(STOPPED, _u32(message.run))


def _decoded_text(data: Union[bytes, bytearray], what: str) -> str:
    if len(data) > MAX_TEXT:
        raise WireError(f"capture worker: {what} longer than {MAX_TEXT} bytes")
    return data.decode("utf-8", "replace")


def _decoded_fourcc(data: Union[bytes, bytearray]) -> str:
    text = data.rstrip(b"\0").decode("ascii", "replace")
    return text if text.isprintable() else ""


def _fixed(
    layout: struct.Struct, data: Union[bytes, bytearray], what: str, exact: bool = True
) -> tuple:  # type: ignore[type-arg]
    if len(data) < layout.size or (exact and len(data) != layout.size):
        raise WireError(f"capture worker: a {what} message of {len(data)} bytes")
    return layout.unpack_from(data)


def decode(data: Union[bytes, bytearray]) -> Message:  # noqa: PLR0912 - one branch per kind
    """The message ``data`` holds; :class:`WireError` for anything else."""
    if not data:
        raise WireError("capture worker: an empty message")
    if len(data) > MAX_MESSAGE:
        raise WireError(f"capture worker: a message of {len(data)} bytes")
    kind = data[0]
    if kind == FRAME:
        _, run, seq, at, height, width, channels = _fixed(_FRAME_HEAD, data, "frame", False)
        if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE) or channels not in (1, 3):
            raise WireError(f"capture worker: a frame of {width}x{height}x{channels}")
        size = height * width * channels
        if size > MAX_PIXELS or len(data) - _FRAME_HEAD.size != size:
            raise WireError(
                f"capture worker: a {width}x{height}x{channels} frame of "
                f"{len(data) - _FRAME_HEAD.size} bytes"
            )
        if not math.isfinite(at):
            raise WireError("capture worker: a frame without a time")
        pixels = memoryview(data)[_FRAME_HEAD.size :]
        return FrameData(run, seq, at, height, width, channels, pixels)
    if kind == OPEN:
        fields = _fixed(_OPEN, data, "open", False)
        _, run, probe, width, height, fps, fourcc, open_timeout, read_timeout, depth = fields
        if probe not in (0, 1) or not (0 < open_timeout < 3600 and 0 < read_timeout < 3600):
            raise WireError("capture worker: an open message out of range")
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE and 0 < fps <= 1000):
            raise WireError("capture worker: an open message asks for no mode")
        if not 1 <= depth <= 64:
            raise WireError("capture worker: an open message with no frames to send")
        port = _decoded_text(data[_OPEN.size :], "a port")
        mode = Mode(width, height, fps, _decoded_fourcc(fourcc))
        return Open(run, port, mode, open_timeout, read_timeout, bool(probe), depth)
    if kind == CREDIT:
        _, run, frames = _fixed(_CREDIT, data, "credit")
        return Credit(run, frames)
    if kind == OPENED:
        _, run, probe, width, height, fps, fourcc = _fixed(_OPENED, data, "opened", False)
        if probe not in (0, 1) or width > MAX_SIDE or height > MAX_SIDE:
            raise WireError(f"capture worker: opened at {width}x{height}")
        if not 0 <= fps <= 1000:  # also refuses NaN
            fps = 0.0
        backend = _decoded_text(data[_OPENED.size :], "a backend's name")
        negotiated = Negotiated(width, height, round(fps, 3), _decoded_fourcc(fourcc), backend)
        return Opened(run, negotiated, bool(probe))
    if kind == FAILED:
        _, run = _fixed(_RUN, data, "failure", False)
        return Failed(run, _decoded_text(data[_RUN.size :], "a reason"))
    if kind in (STOP, STOPPED):
        _, run = _fixed(_RUN, data, "stop")
        return Stop(run) if kind == STOP else Stopped(run)
    raise WireError(f"capture worker: unknown message kind {kind}")
