"""What a media file is, by its first bytes and by decoding it: an image (PNG, JPEG) or
a video (MP4) OpenCV can show. Blocking (OpenCV): run it in an executor."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from .errors import MediaError

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
#: Pictures larger than 8K are refused before they are decoded.
MAX_SIDE = 8192
MAX_VIDEO_SIDE = 4096
MAX_FPS = 120.0
MAX_VIDEO_SECONDS = 3600.0
HEAD = 32
#: Where a picture's size must be found (JPEG's APPn segments come first: EXIF, ICC).
HEADER_BYTES = 256 * 1024
#: JPEG start-of-frame markers (all but DHT C4, JPG C8 and DAC CC) and standalone markers.
SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class MediaInfo:
    kind: str
    width: int
    height: int
    #: Seconds of video; 0 for an image.
    seconds: float = 0.0


def sniff(head: bytes) -> Optional[str]:
    """``"image"``, ``"video"`` or ``None`` from a file's first bytes."""
    if head.startswith(PNG) or head.startswith(JPEG):
        return "image"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video"
    return None


def check(path: Path, kind: str) -> MediaInfo:
    """Check that ``path`` is a ``kind`` this screen can show; :class:`MediaError` if not."""
    name = path.name
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD)
    except OSError as err:
        raise MediaError(f"{name}: cannot be read: {err.strerror}") from err
    found = sniff(head)
    if found != kind:
        raise MediaError(
            f"{name}: its name says {kind}, its bytes say {found or 'neither image nor video'}"
        )
    return _image(path) if kind == "image" else _video(path)


def header_size(data: bytes) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from a PNG's IHDR or a JPEG's first SOF marker, read before
    decoding (a small file can declare a huge picture); ``None`` if not found in ``data``."""
    if data.startswith(PNG):
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if not data.startswith(JPEG):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte
            at += 1
            continue
        if marker in STANDALONE:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if length < 2:
            return None
        if marker in SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def _image(path: Path) -> MediaInfo:
    with path.open("rb") as handle:
        start = handle.read(HEADER_BYTES)
    size = header_size(start)
    if size is None:
        raise MediaError(f"{path.name}: not a decodable image (no picture size in its header)")
    width, height = size
    if width == 0 or height == 0:
        raise MediaError(f"{path.name}: not a decodable image (its header says {width}×{height})")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise MediaError(f"{path.name}: {width}×{height} px, over {MAX_SIDE} px a side")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f"{path.name}: not a decodable image")
    height, width = image.shape[:2]
    if width > MAX_SIDE or height > MAX_SIDE:
        raise MediaError(f"{path.name}: {width}×{height} px, over {MAX_SIDE} px a side")
    return MediaInfo("image", width, height)


def _video(path: Path) -> MediaInfo:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened():
            raise MediaError(f"{path.name}: not a video this kiosk can decode")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise MediaError(f"{path.name}: no frame could be decoded")
        height, width = frame.shape[:2]
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        capture.release()
    if width > MAX_VIDEO_SIDE or height > MAX_VIDEO_SIDE:
        raise MediaError(f"{path.name}: {width}×{height} px, over {MAX_VIDEO_SIDE} px a side")
    if not 0 < fps <= MAX_FPS:
        raise MediaError(f"{path.name}: frame rate {fps:g}, expected 1 to {MAX_FPS:g}")
    seconds = frames / fps if frames > 0 else 0.0
    if seconds > MAX_VIDEO_SECONDS:
        raise MediaError(f"{path.name}: {seconds:.0f} s long, over {MAX_VIDEO_SECONDS:.0f} s")
    return MediaInfo("video", width, height, seconds)
