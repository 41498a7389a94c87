"""The simulator's card photos: a face image in the 1,024 bytes a card's WLT photo takes.

A real card stores its holder's photo as 1,024 bytes of WLT, a format only the licensed
vendor libraries decode. The simulator cannot make WLT, so it stores the photo its own
way, in the same 1,024 bytes, and the face verifier's simulated decoder reads it back::

    offset  size  what
    0       4     magic "GKSP"
    4       1     version (1)
    5       1     format: "W" WebP, "J" JPEG
    6       2     payload length, big-endian
    8       n     the image: 102×126, the size of a card's photo
    8+n           zeros up to 1,024

The face is cropped and shrunk the way a card's photo frames it (head and shoulders,
the face about 60 % of the width), softened and desaturated a little, then compressed
until it fits: a card's photo is small and lossy, and the verifier must cope with that.
WebP where OpenCV has it (it keeps far more of a face in 1 KB), JPEG otherwise.

Personal data (§8 d): the bytes and images live in memory only.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Optional, Tuple

import cv2
import numpy as np

from .cardtext import PHOTO_SIZE
from .errors import IdCardError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

MAGIC = b"GKSP"
VERSION = 1
HEADER = struct.Struct(">4sBcH")
#: A card photo's size (width, height).
SIZE = (102, 126)
#: The face box's width as a share of the photo's width, and its centre's height.
_FACE_WIDTH = 0.62
_FACE_CENTRE_Y = 0.52
_FORMATS = {b"W": ".webp", b"J": ".jpg"}
#: The quality flag of each format (names: OpenCV is only imported when a photo is made).
_QUALITY = {b"W": "IMWRITE_WEBP_QUALITY", b"J": "IMWRITE_JPEG_QUALITY"}

Box = Tuple[int, int, int, int]  #: x, y, width, height


class SimPhotoError(IdCardError):
    """Bytes that are not a simulated card photo, or an image that cannot become one."""


def is_simulated(blob: bytes) -> bool:
    """The bytes start like a simulated photo (a real card's WLT never does)."""
    return blob[: len(MAGIC)] == MAGIC


def find_face(image: Image) -> Optional[Box]:
    """The largest face OpenCV's stock frontal-face cascade finds, or ``None``.

    Only for framing the simulator's photo; the verifier uses its own detector.
    """
    data = getattr(cv2, "data", None)
    if data is None:  # some distributions' OpenCV builds have no cv2.data
        return None
    cascade = cv2.CascadeClassifier(data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        return None
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = max(grey.shape) / 640 if max(grey.shape) > 640 else 1.0
    small = cv2.resize(grey, (round(grey.shape[1] / scale), round(grey.shape[0] / scale)))
    found = cascade.detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40))
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda b: int(b[2]) * int(b[3]))
    return round(x * scale), round(y * scale), round(w * scale), round(h * scale)


def card_photo(image: Image, box: Optional[Box] = None) -> Image:
    """``image`` framed, shrunk and degraded like a card's photo (102×126).

    ``box`` is the face (as the stock cascade frames it); found when not given, and the
    middle of the image is used when no face is found.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise SimPhotoError("expected a BGR image of 8-bit pixels")
    width, height = SIZE
    box = box or find_face(image)
    if box is None:
        side = min(image.shape[:2]) // 2
        box = ((image.shape[1] - side) // 2, (image.shape[0] - side) // 2, side, side)
    x, y, w, _h = box
    scale = _FACE_WIDTH * width / max(w, 1)
    centre_x, centre_y = x + w / 2, y + box[3] / 2
    matrix = np.array(
        [
            [scale, 0, width / 2 - centre_x * scale],
            [0, scale, _FACE_CENTRE_Y * height - centre_y * scale],
        ],
        np.float32,
    )
    smooth = cv2.GaussianBlur(image, (0, 0), max(0.5 / scale, 0.1)) if scale < 1 else image
    framed = cv2.warpAffine(
        smooth, matrix, SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    soft = cv2.GaussianBlur(framed, (0, 0), 0.6)
    hsv = cv2.cvtColor(soft, cv2.COLOR_BGR2HSV)
    hsv[..., 1] = (hsv[..., 1].astype(np.float32) * 0.8).astype(np.uint8)
    return np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), np.uint8)


def _compress(photo: Image, budget: int) -> Tuple[bytes, bytes]:
    for kind in (b"W", b"J"):
        for quality in range(90, 0, -5):
            try:
                ok, buffer = cv2.imencode(
                    _FORMATS[kind], photo, [getattr(cv2, _QUALITY[kind]), quality]
                )
            except cv2.error:
                break  # this OpenCV build cannot write the format
            if ok and len(buffer) <= budget:
                return kind, buffer.tobytes()
    raise SimPhotoError(f"the photo does not fit in {budget} bytes")


def encode(image: Image, box: Optional[Box] = None) -> bytes:
    """A face image as the 1,024 bytes of a simulated card's photo."""
    kind, payload = _compress(card_photo(image, box), PHOTO_SIZE - HEADER.size)
    blob = HEADER.pack(MAGIC, VERSION, kind, len(payload)) + payload
    return blob + bytes(PHOTO_SIZE - len(blob))


def decode(blob: bytes) -> Image:
    """The image of a simulated card's photo; :class:`SimPhotoError` for anything else."""
    if len(blob) != PHOTO_SIZE:
        raise SimPhotoError(f"a card photo has {PHOTO_SIZE} bytes, not {len(blob)}")
    magic, version, kind, length = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise SimPhotoError("not a simulated photo (no GKSP magic)")
    if version != VERSION:
        raise SimPhotoError(f"simulated photo version {version}, expected {VERSION}")
    if kind not in _FORMATS:
        raise SimPhotoError(f"unknown simulated photo format {kind!r}")
    if not 0 < length <= PHOTO_SIZE - HEADER.size:
        raise SimPhotoError(f"simulated photo length {length} out of range")
    end = HEADER.size + length
    if any(blob[end:]):
        raise SimPhotoError("simulated photo padding is not zero")
    payload = np.frombuffer(blob, np.uint8, count=length, offset=HEADER.size)
    decoded = cv2.imdecode(payload, cv2.IMREAD_COLOR)
    if decoded is None:
        raise SimPhotoError("the simulated photo's image cannot be decoded")
    image = np.asarray(decoded, np.uint8)
    if (image.shape[1], image.shape[0]) != SIZE:
        raise SimPhotoError(
            f"simulated photo of {image.shape[1]}×{image.shape[0]}, expected 102×126"
        )
    return image


def read_photo(path: str) -> bytes:
    """An image file as a simulated card's photo (``govkioskctl sim idcard --photo``)."""
    image: Any = cv2.imread(path, cv2.IMREAD_COLOR)  # None when unreadable
    if image is None:
        raise SimPhotoError(f"{path}: not an image file OpenCV can read")
    return encode(np.asarray(image, np.uint8))
