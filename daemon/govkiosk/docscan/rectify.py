"""From a frame and the page's corners to a legible page: straightened, deskewed, whitened,
encoded.

- :func:`rectify` warps the page to its paper's aspect (portrait or landscape, as the
  corners show it), ``width`` pixels across its short side (1240 px ≈ 150 dpi on A4).
- :func:`deskew` turns the page by the residual tilt of its text lines (±5°), found by
  projection profiles: the angle at which the rows of ink are sharpest.
- :func:`whiten` divides each channel by the paper's own brightness (a morphological
  close and blur of a small copy: ink and seals gone, shading and colour cast kept), then
  stretches the contrast alike in every channel: paper white, ink dark, a red seal red.
- :func:`encode` gives JPEG, PNG or a one-page PDF (:mod:`.pdf`) as bytes.

All in memory (§8 d).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Tuple

import cv2
import numpy as np

from .errors import EncodeError, FormatError, QuadError
from .page import as_bgr
from .pdf import jpeg_page
from .quad import Quad
from .settings import PAPERS

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[Any]  #: 8-bit, BGR or grey (OpenCV's stubs type pixels loosely)

FORMATS = ("pdf", "jpeg", "png")
#: Default width of the page's short side: 150 dpi on A4.
WIDTH = 1240
#: Largest residual tilt :func:`deskew` corrects, degrees.
MAX_SKEW = 5.0
#: Share of the width cut from each edge of a rectified page.
TRIM = 0.004
#: After dividing by the paper's brightness, this share of it and above is white.
WHITE = 0.92


def paper_mm(paper: str) -> Tuple[float, float]:
    """The paper's (short, long) sides in millimetres, or :class:`FormatError`."""
    try:
        return PAPERS[paper]
    except KeyError:
        raise FormatError(f"unknown paper {paper!r}; known: {', '.join(sorted(PAPERS))}") from None


def rectify(
    frame: Any, quad: Quad, paper: str = "A4", width: int = WIDTH, *, trim: float = TRIM
) -> Image:
    """The page inside ``quad`` warped flat: ``paper``'s aspect, ``width`` pixels across
    its short side, portrait or landscape as the quad's sides say; ``trim`` (a share of
    the width) is cut from every edge, so no sliver of desk shows at the rim."""
    image = as_bgr(frame)
    short, long_ = paper_mm(paper)
    if width < 16 or width > 10000:
        raise FormatError(f"the output width must be between 16 and 10000 px, got {width}")
    if not quad.is_convex():
        raise QuadError("the page outline is not convex")
    across = width
    down = round(width * long_ / short)
    size = (across, down) if quad.portrait() else (down, across)
    w, h = size
    cut = trim * width
    low, right, bottom = -0.5 - cut, w - 0.5 + cut, h - 0.5 + cut
    target = np.array([[low, low], [right, low], [right, bottom], [low, bottom]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.points().astype(np.float32), target)
    flat: Image = cv2.warpPerspective(
        image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return flat


def skew_angle(image: Image, max_angle: float = MAX_SKEW) -> float:
    """The tilt of the page's text lines in degrees (positive: they run down to the
    right), within ±``max_angle``; 0.0 when the page shows too little ink to tell."""
    grey = cv2.cvtColor(as_bgr(image), cv2.COLOR_BGR2GRAY)
    scale = min(1.0, 800.0 / grey.shape[1])
    if scale < 1.0:
        grey = cv2.resize(
            grey,
            (round(grey.shape[1] * scale), round(grey.shape[0] * scale)),
            interpolation=cv2.INTER_AREA,
        )
    height, width = grey.shape
    block = max(15, (width // 30) | 1)
    ink = cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15
    )
    margin_x, margin_y = width // 20, height // 20  # what is left of the desk at the rim
    ys, xs = np.nonzero(ink[margin_y : height - margin_y, margin_x : width - margin_x])
    if len(xs) < 200:
        return 0.0
    if len(xs) > 30000:  # plenty: a regular subset keeps it fast
        step = len(xs) // 30000 + 1
        xs, ys = xs[::step], ys[::step]
    x = xs.astype(np.float64) - xs.mean()
    y = ys.astype(np.float64)

    def sharpness(angle: float) -> float:
        radians = math.radians(angle)
        rows = np.round(y * math.cos(radians) - x * math.sin(radians)).astype(np.int64)
        counts = np.bincount(rows - rows.min())
        return float((counts.astype(np.float64) ** 2).sum())

    coarse = np.arange(-max_angle, max_angle + 1e-9, 0.25)
    best = float(coarse[int(np.argmax([sharpness(a) for a in coarse]))])
    fine = np.arange(best - 0.25, best + 0.25 + 1e-9, 0.05)
    best = float(fine[int(np.argmax([sharpness(a) for a in fine]))])
    return max(-max_angle, min(max_angle, best))


def deskew(image: Image, max_angle: float = MAX_SKEW) -> Image:
    """``image`` turned so its text lines run level (see :func:`skew_angle`)."""
    angle = skew_angle(image, max_angle)
    if abs(angle) < 0.1:
        return image
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
    turned: Image = cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return turned


def whiten(image: Image, colour: bool = True) -> Image:
    """Paper white and ink dark, whatever the lighting: each channel divided by the
    paper's brightness there, then one contrast stretch for all channels, so a red seal
    stays red. ``colour=False`` gives a one-channel grey page."""
    bgr = as_bgr(image)
    height, width = bgr.shape[:2]
    small_w = min(width, 320)
    small_h = max(1, round(height * small_w / width))
    small = cv2.resize(bgr, (small_w, small_h), interpolation=cv2.INTER_AREA)
    size = max(9, (small_w // 12) | 1)  # wider than any stroke, a seal's star included
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    paper = cv2.GaussianBlur(paper, (0, 0), size / 3)
    paper = cv2.resize(paper, (width, height), interpolation=cv2.INTER_LINEAR)
    np.maximum(paper, 8, out=paper)  # no division by a black rim
    ratio = cv2.divide(bgr, paper, scale=255.0)  # paper at 255; saturates above
    luma = cv2.cvtColor(ratio, cv2.COLOR_BGR2GRAY)
    black = min(0.6 * 255, float(np.percentile(luma[::4, ::4], 0.5)))
    white = WHITE * 255
    levels = np.arange(256, dtype=np.float32)
    table = np.clip((levels - black) * (255.0 / (white - black)), 0, 255).astype(np.uint8)
    out: Image = cv2.LUT(ratio, table)
    if colour:
        return out
    grey: Image = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    return grey


def correct(
    frame: Any,
    quad: Quad,
    *,
    paper: str = "A4",
    width: int = WIDTH,
    colour: bool = True,
    straighten: bool = True,
) -> Image:
    """:func:`rectify`, then :func:`deskew` (unless ``straighten`` is false), then
    :func:`whiten`: what a citizen sees and what is sent on."""
    page = rectify(frame, quad, paper, width)
    if straighten:
        page = deskew(page)
    return whiten(page, colour)


def encode(image: Image, fmt: str, *, quality: int = 85, paper: str = "A4") -> bytes:
    """``image`` as ``fmt`` (``"jpeg"``, ``"png"`` or ``"pdf"``: one ``paper`` page, turned
    to the image's orientation, the image as large as fits)."""
    fmt = "jpeg" if fmt == "jpg" else fmt
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if not 1 <= quality <= 100:
        raise FormatError(f"JPEG quality must be between 1 and 100, got {quality}")
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise EncodeError("only a non-empty 8-bit image can be encoded")
    grey = image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1)
    if fmt == "png":
        return _encoded(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    jpeg = _encoded(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if fmt == "jpeg":
        return jpeg
    short, long_ = paper_mm(paper)
    height, width = image.shape[:2]
    page = (short, long_) if height >= width else (long_, short)
    return jpeg_page(jpeg, (width, height), grey=grey, page_mm=page)


def _encoded(extension: str, image: Image, params: Any) -> bytes:
    try:
        ok, data = cv2.imencode(extension, image, params)
    except cv2.error as err:
        raise EncodeError(f"cannot encode the page as {extension[1:]}: {err}") from err
    if not ok:
        raise EncodeError(f"cannot encode the page as {extension[1:]}")
    return bytes(data.tobytes())
