"""OFD pages as pictures: BGR arrays and PNG for the preview, an image PDF for CUPS.

What the kiosk's certificates need and no more: text in the document's embedded fonts
(TrueType/OpenType, through Pillow's FreeType) or, for fonts it only names (宋体, 楷体,
Courier New …), a system font with Chinese glyphs; paths (``AbbreviatedData`` with
M/S/L/Q/B/A/C; stroke, fill, line width, colours, draw parameters); images (PNG, JPEG,
BMP, TIFF, GIF, JBIG2); clips; templates behind or before the page; annotations' appearances;
and each seal's picture at its ``StampAnnot`` boundary (the caller passes the picture,
taken from the SES seal by the seal verifier). OpenCV draws paths and images with
anti-aliasing on a white BGR page; glyphs are Pillow masks blended in place.

Units are millimetres: at ``dpi`` one millimetre is ``dpi / 25.4`` pixels. A point of an
object goes through the object's CTM, then moves by its ``Boundary`` origin.

JBIG2 pictures (an invoice's QR code) go through poppler (:mod:`.jbig2`).

Not drawn, and listed in :attr:`Rendered.skipped`: a picture no decoder here reads (JBIG2
without poppler), a font that cannot be loaded when no system font can stand in;
shadings and patterns are drawn in the plain colour. Pages live in memory only (§8 d).
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import cv2
import numpy as np

from . import jbig2
from .errors import OfdError, RenderError
from .model import (
    IDENTITY,
    Annotation,
    Box,
    ClipArea,
    Content,
    Document,
    GraphicObject,
    ImageObject,
    Matrix,
    Page,
    PageBlock,
    PathCommand,
    PathObject,
    StampAnnot,
    TextObject,
    multiply,
    read_ofd,
)
from .pdf import PdfImage, pdf_of_images

if TYPE_CHECKING:  # numpy.typing is numpy >= 1.21; Kylin V10 ships 1.17
    from numpy.typing import NDArray

    Image = NDArray[Any]  #: 8-bit BGR, BGRA or grey (OpenCV's stubs type pixels loosely)
    Mask = NDArray[Any]  #: float32 coverage 0..1
    Points = NDArray[np.float64]

MIN_DPI = 10
MAX_DPI = 600
MAX_PIXELS = 80_000_000
#: an em in pixels at most (42 mm at 600 dpi; a certificate's title is under 10 mm)
MAX_GLYPH_PIXELS = 1000
GLYPH_CACHE_BYTES = 64 * 1024 * 1024
#: points of one flattened path
MAX_FLAT_POINTS = 2_000_000
#: a picture inside a document (its header is read first)
MAX_PICTURE_PIXELS = 40_000_000
PREVIEW_DPI = 96
PRINT_DPI = 300
MM_PER_INCH = 25.4

#: System fonts with Chinese glyphs, best first, for fonts a document names without
#: embedding them (Debian, UOS, Kylin layouts; the packages depend on one of the wqy or
#: Noto CJK fonts). Serif faces first for 宋体/仿宋/楷体 where one is installed.
SERIF_FONTS: Tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
SANS_FONTS: Tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
#: Noto CJK collections open on their Japanese face; the Simplified Chinese one is here.
TTC_FACE = {"NotoSansCJK-Regular.ttc": 2, "NotoSerifCJK-Regular.ttc": 2}
SERIF_NAMES = ("宋", "仿宋", "楷", "song", "kai", "fang", "serif", "times", "ming")


@dataclass(frozen=True)
class StampPicture:
    """A seal's picture to draw at a signature's stamp: ``page_id`` is the ``PageRef``.

    ``picture`` is the image the SES seal carries (PNG, JPEG, GIF, BMP, or an OFD
    document whose first page is the picture).
    """

    page_id: str
    boundary: Box
    picture: bytes


def stamps_for(stamp_annots: Iterable[StampAnnot], picture: bytes) -> List[StampPicture]:
    """``picture`` (a seal's image) at each of a signature's stamps: pass a verified
    signature's ``SignatureParts.stamp_annots`` and the picture from its seal."""
    return [StampPicture(s.page_ref, s.boundary, picture) for s in stamp_annots]


@dataclass
class Rendered:
    """One page: ``image`` is BGR, ``skipped`` says what could not be drawn (no content)."""

    image: Image
    dpi: float
    skipped: List[str] = field(default_factory=list)


# ---- geometry -------------------------------------------------------------------------


def _apply(matrix: Matrix, points: Points) -> Points:
    a, b, c, d, e, f = matrix
    out = np.empty_like(points)
    out[:, 0] = a * points[:, 0] + c * points[:, 1] + e
    out[:, 1] = b * points[:, 0] + d * points[:, 1] + f
    return out


def _translate(x: float, y: float) -> Matrix:
    return (1.0, 0.0, 0.0, 1.0, x, y)


def _scale_of(matrix: Matrix) -> float:
    a, b, c, d, _, _ = matrix
    return math.sqrt(abs(a * d - b * c))


def _arc(start: Tuple[float, float], numbers: Tuple[float, ...]) -> List[Tuple[float, float]]:
    """The arc ``A rx ry angle large sweep x y`` from ``start`` as points (SVG's endpoint
    parameterisation, which OFD uses)."""
    rx, ry, angle = numbers[0], numbers[1], numbers[2]
    large, sweep = numbers[3] != 0, numbers[4] != 0
    end = (numbers[5], numbers[6])
    x1, y1 = start
    x2, y2 = end
    if rx == 0 or ry == 0 or (x1, y1) == (x2, y2):
        return [end]
    rx, ry = abs(rx), abs(ry)
    phi = math.radians(angle)
    cos_phi, sin_phi = math.cos(phi), math.sin(phi)
    dx, dy = (x1 - x2) / 2, (y1 - y2) / 2
    xp = cos_phi * dx + sin_phi * dy
    yp = -sin_phi * dx + cos_phi * dy
    scale = (xp * xp) / (rx * rx) + (yp * yp) / (ry * ry)
    if scale > 1:
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    num = rx * rx * ry * ry - rx * rx * yp * yp - ry * ry * xp * xp
    den = rx * rx * yp * yp + ry * ry * xp * xp
    factor = math.sqrt(max(0.0, num / den)) if den else 0.0
    if large == sweep:
        factor = -factor
    cxp, cyp = factor * rx * yp / ry, -factor * ry * xp / rx
    cx = cos_phi * cxp - sin_phi * cyp + (x1 + x2) / 2
    cy = sin_phi * cxp + cos_phi * cyp + (y1 + y2) / 2
    theta1 = math.atan2((yp - cyp) / ry, (xp - cxp) / rx)
    theta2 = math.atan2((-yp - cyp) / ry, (-xp - cxp) / rx)
    delta = theta2 - theta1
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    steps = max(4, min(256, int(abs(delta) / (math.pi / 32)) + 1))
    points = []
    for step in range(1, steps + 1):
        t = theta1 + delta * step / steps
        x, y = rx * math.cos(t), ry * math.sin(t)
        points.append((cos_phi * x - sin_phi * y + cx, sin_phi * x + cos_phi * y + cy))
    return points


def flatten(path: Sequence[PathCommand], segments: int = 16) -> List[Tuple[Points, bool]]:
    """Sub-paths as point arrays (object space) and whether each is closed."""
    subpaths: List[Tuple[List[Tuple[float, float]], bool]] = []
    current: List[Tuple[float, float]] = []
    position = (0.0, 0.0)

    def finish(closed: bool) -> None:
        nonlocal current
        if len(current) > 1 or (current and closed):
            subpaths.append((current, closed))
        current = []

    bound = sum(257 if c == "A" else segments if c in "QB" else 1 for c, _ in path)
    if bound > MAX_FLAT_POINTS:
        raise RenderError("render: a path has too many points")
    for letter, n in path:
        if letter in ("M", "S"):
            finish(False)
            position = (n[0], n[1])
            current = [position]
            continue
        if not current:
            current = [position]
        if letter == "L":
            position = (n[0], n[1])
            current.append(position)
        elif letter == "Q":
            x0, y0 = position
            for step in range(1, segments + 1):
                t = step / segments
                u = 1 - t
                current.append(
                    (
                        u * u * x0 + 2 * u * t * n[0] + t * t * n[2],
                        u * u * y0 + 2 * u * t * n[1] + t * t * n[3],
                    )
                )
            position = (n[2], n[3])
        elif letter == "B":
            x0, y0 = position
            for step in range(1, segments + 1):
                t = step / segments
                u = 1 - t
                current.append(
                    (
                        u**3 * x0 + 3 * u * u * t * n[0] + 3 * u * t * t * n[2] + t**3 * n[4],
                        u**3 * y0 + 3 * u * u * t * n[1] + 3 * u * t * t * n[3] + t**3 * n[5],
                    )
                )
            position = (n[4], n[5])
        elif letter == "A":
            current.extend(_arc(position, n))
            position = (n[5], n[6])
        elif letter == "C":
            start = current[0]
            finish(True)
            position = start
    finish(False)
    return [(np.array(points, dtype=np.float64), closed) for points, closed in subpaths]


# ---- fonts ----------------------------------------------------------------------------


class FontBook:
    """Pillow fonts for a document's font ids, at pixel sizes; glyph masks cached."""

    def __init__(
        self,
        document: Document,
        sans: Sequence[str] = SANS_FONTS,
        serif: Sequence[str] = SERIF_FONTS,
    ) -> None:
        self._document = document
        self._sans = [p for p in sans if Path(p).is_file()]
        self._serif = [p for p in serif if Path(p).is_file()]
        self._fonts: Dict[Tuple[str, int], Any] = {}
        self._glyphs: Dict[Tuple[str, int, str, int], Tuple[Image, int, int]] = {}
        self._cached = 0
        self._broken: Dict[str, str] = {}

    def _system(self, name: str) -> Optional[Tuple[Union[str, bytes], int]]:
        lowered = name.lower()
        candidates = (
            self._serif + self._sans if any(s in lowered for s in SERIF_NAMES) else self._sans
        )
        if not candidates:
            return None
        path = candidates[0]
        return path, TTC_FACE.get(Path(path).name, 0)

    def font(self, font_id: str, pixels: int) -> Any:
        from PIL import ImageFont  # noqa: PLC0415 - Pillow loads only when a page is drawn

        key = (font_id, pixels)
        if key in self._fonts:
            return self._fonts[key]
        spec = self._document.fonts.get(font_id)
        loaded = None
        if spec is not None and spec.file is not None:
            stored = self._document.package.find(spec.file)
            if stored is not None:
                try:
                    loaded = ImageFont.truetype(io.BytesIO(self._document.package[stored]), pixels)
                except (OSError, ValueError):
                    self._broken[font_id] = f"font {font_id}: the embedded font cannot be loaded"
        if loaded is None:
            system = self._system(spec.family or spec.name if spec is not None else "")
            if system is None:
                raise RenderError("render: no font with Chinese glyphs is installed")
            path, index = system
            loaded = ImageFont.truetype(path, pixels, index=index)
        self._fonts[key] = loaded
        return loaded

    def glyph(self, font_id: str, pixels: int, char: str, bold: int) -> Tuple[Image, int, int]:
        """The glyph's coverage and its top-left offset from the pen on the baseline."""
        key = (font_id, pixels, char, bold)
        cached = self._glyphs.get(key)
        if cached is not None:
            return cached
        from PIL import Image as PILImage  # noqa: PLC0415
        from PIL import ImageDraw  # noqa: PLC0415

        # Only what Pillow 5.4 (UOS 20) and 7.0 (Kylin V10) have too: the glyph is drawn
        # with its ascender line at the pad, then cut to its ink.
        font = self.font(font_id, pixels)
        ascent, descent = font.getmetrics()
        pad = pixels // 2 + 2 + bold
        picture = PILImage.new("L", (3 * pixels + 2 * pad, ascent + descent + 2 * pad), 0)
        draw = ImageDraw.Draw(picture)
        try:
            if bold:
                draw.text((pad, pad), char, font=font, fill=255, stroke_width=bold, stroke_fill=255)
            else:
                draw.text((pad, pad), char, font=font, fill=255)
        except TypeError:  # Pillow < 6.2 draws no stroke: regular weight
            draw.text((pad, pad), char, font=font, fill=255)
        array = np.asarray(picture, dtype=np.uint8)
        x0, y0, w, h = cv2.boundingRect(array)  # the ink's box
        if w == 0 or h == 0:
            entry: Tuple[Image, int, int] = (np.zeros((1, 1), dtype=np.uint8), 0, 0)
        else:
            part = np.ascontiguousarray(array[y0 : y0 + h, x0 : x0 + w])
            entry = (part, x0 - pad, y0 - pad - ascent)
        self._cached += entry[0].size
        if self._cached > GLYPH_CACHE_BYTES:
            self._glyphs.clear()
            self._cached = entry[0].size
        self._glyphs[key] = entry
        return entry

    def advance(self, font_id: str, pixels: int, char: str) -> float:
        """How far ``char`` moves the pen, in pixels at ``pixels`` per em."""
        font = self.font(font_id, pixels)
        length = getattr(font, "getlength", None)  # Pillow >= 8; getsize before
        if length is not None:
            return float(length(char))
        return float(font.getsize(char)[0])

    @property
    def problems(self) -> List[str]:
        return list(self._broken.values())


# ---- drawing --------------------------------------------------------------------------


class _Region:
    """A rectangle of the page in pixels, clamped to it."""

    def __init__(self, bounds: Tuple[float, float, float, float], page: Image) -> None:
        x0, y0, x1, y1 = bounds
        height, width = page.shape[:2]
        self.x0 = max(0, math.floor(x0))
        self.y0 = max(0, math.floor(y0))
        self.x1 = min(width, math.ceil(x1))
        self.y1 = min(height, math.ceil(y1))

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def shape(self) -> Tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


def _poly(points: Points, region: _Region) -> NDArray[np.int32]:
    shifted = np.clip((points - np.array([region.x0, region.y0])) * 16.0, -(2**28), 2**28)
    polygon: NDArray[np.int32] = np.round(shifted).astype(np.int32).reshape(-1, 1, 2)
    return polygon


def _stroke(layer: Image, points: Points, closed: bool, width: float, region: _Region) -> None:
    """A stroke with butt caps (the standard's default) and round joins.

    OpenCV's thick lines end in round caps half a line width beyond the end point, which
    is visible on a form's ruling; segments are drawn as quadrilaterals instead. Lines
    thinner than two pixels are drawn as anti-aliased hairlines.
    """
    if width < 2.0:
        cv2.polylines(layer, [_poly(points, region)], closed, (255,), 1, cv2.LINE_AA, shift=4)
        return
    if closed and len(points) > 1:
        points = np.vstack([points, points[:1]])
    half = width / 2.0
    for start, end in zip(points[:-1], points[1:]):
        direction = end - start
        length = math.hypot(direction[0], direction[1])
        if length == 0:
            continue
        normal = np.array([-direction[1], direction[0]]) / length * half
        quad = np.array([start + normal, end + normal, end - normal, start - normal])
        cv2.fillConvexPoly(layer, _poly(quad, region), (255,), cv2.LINE_AA, shift=4)
    joins = points[1:-1] if not closed else points[:-1]
    for point in joins:
        offset = np.clip((point - np.array([region.x0, region.y0])) * 16.0, -(2**28), 2**28)
        centre = np.round(offset).astype(int)
        radius = round(half * 16.0)
        cv2.circle(
            layer, (int(centre[0]), int(centre[1])), radius, (255,), -1, cv2.LINE_AA, shift=4
        )


class PageRenderer:
    """Draws one page of ``document`` at ``dpi`` onto a white BGR image."""

    def __init__(self, document: Document, fonts: Optional[FontBook] = None) -> None:
        self.document = document
        self.fonts = fonts if fonts is not None else FontBook(document)
        self._images: Dict[str, Optional[Image]] = {}

    def render(
        self,
        index: int,
        dpi: float = PREVIEW_DPI,
        stamps: Iterable[StampPicture] = (),
        for_print: bool = False,
    ) -> Rendered:
        if not 0 <= index < len(self.document.pages):
            raise RenderError(
                f"render: no page {index + 1} (the document has {len(self.document.pages)})"
            )
        if not MIN_DPI <= dpi <= MAX_DPI:
            raise RenderError(f"render: dpi must be between {MIN_DPI} and {MAX_DPI}")
        page = self.document.pages[index]
        box = self.document.page_box(page)
        scale = dpi / MM_PER_INCH
        width, height = max(1, round(box.w * scale)), max(1, round(box.h * scale))
        if width * height > MAX_PIXELS:
            raise RenderError("render: the page is too large at this resolution")
        self.canvas: Image = np.full((height, width, 3), 255, dtype=np.uint8)
        self.page_matrix: Matrix = (scale, 0.0, 0.0, scale, -box.x * scale, -box.y * scale)
        self.skipped: List[str] = []
        self._content(page, "Background")
        for layer in page.content.layers:
            self._objects(layer.objects, IDENTITY)
        self._content(page, "Foreground")
        for annotation in self.document.annotations:
            self._annotation(page, annotation, for_print)
        for stamp in stamps:
            if stamp.page_id == page.id:
                self._stamp(stamp)
        self.skipped.extend(self.fonts.problems)
        return Rendered(self.canvas, dpi, sorted(set(self.skipped)))

    def _content(self, page: Page, order: str) -> None:
        for template_id, z_order in page.content.templates:
            if (z_order or "Background") != order:
                continue
            template: Optional[Content] = self.document.templates.get(template_id)
            if template is None:
                self.skipped.append(f"template {template_id}: not in the document")
                continue
            for layer in template.layers:
                self._objects(layer.objects, IDENTITY)

    def _annotation(self, page: Page, annotation: Annotation, for_print: bool) -> None:
        if annotation.page_id != page.id or not annotation.visible:
            return
        if for_print and not annotation.printable:
            return
        origin = annotation.boundary or Box(0, 0, 0, 0)
        self._objects(annotation.objects, _translate(origin.x, origin.y))

    def _objects(self, objects: Sequence[GraphicObject], outer: Matrix) -> None:
        for obj in objects:
            if isinstance(obj, PageBlock):
                self._objects(obj.objects, outer)
            elif isinstance(obj, TextObject):
                self._text(obj, outer)
            elif isinstance(obj, PathObject):
                self._path(obj, outer)
            elif isinstance(obj, ImageObject):
                self._image(obj, outer)

    def _device(self, obj: Union[TextObject, PathObject, ImageObject], outer: Matrix) -> Matrix:
        placed = multiply(obj.ctm, _translate(obj.boundary.x, obj.boundary.y))
        return multiply(multiply(placed, outer), self.page_matrix)

    def _clip_mask(
        self, obj: Union[TextObject, PathObject, ImageObject], outer: Matrix, region: _Region
    ) -> Optional[Mask]:
        if not obj.clips:
            return None
        mask = np.ones(region.shape, dtype=np.float32)
        place = multiply(
            multiply(_translate(obj.boundary.x, obj.boundary.y), outer), self.page_matrix
        )
        for clip in obj.clips:
            layer = np.zeros(region.shape, dtype=np.uint8)
            for area in clip:
                self._clip_area(area, obj.ctm, place, region, layer)
            mask = np.minimum(mask, layer.astype(np.float32) / 255.0)
        return mask

    def _clip_area(
        self, area: ClipArea, ctm: Matrix, place: Matrix, region: _Region, layer: Image
    ) -> None:
        matrix = multiply(_translate(*area.origin), area.ctm)
        if area.trans_flag:
            matrix = multiply(matrix, ctm)
        matrix = multiply(matrix, place)
        polygons = [
            _poly(_apply(matrix, points), region)
            for points, _ in flatten(area.path)
            if len(points) > 2
        ]
        if polygons:
            cv2.fillPoly(layer, polygons, (255,), lineType=cv2.LINE_AA, shift=4)

    def _blend(
        self,
        region: _Region,
        coverage: Mask,
        colour: Union[Tuple[int, int, int], Image],
        clip: Optional[Mask],
        multiply: bool = False,
    ) -> None:
        """Paint ``colour`` over the region by ``coverage``; ``multiply``: as ink does,
        darkening what is under it (print under a seal stays legible)."""
        if clip is not None:
            coverage = coverage * clip
        target = self.canvas[region.y0 : region.y1, region.x0 : region.x1]
        if isinstance(colour, tuple):
            paint = np.empty_like(target)
            paint[...] = colour[::-1]  # RGB → BGR
        else:
            paint = np.ascontiguousarray(colour)
        if multiply:
            paint = cv2.multiply(paint, np.ascontiguousarray(target), scale=1.0 / 255.0)
        coverage = np.ascontiguousarray(coverage, dtype=np.float32)
        target[...] = cv2.blendLinear(paint, np.ascontiguousarray(target), coverage, 1.0 - coverage)

    # text
    def _text(self, obj: TextObject, outer: Matrix) -> None:
        if obj.size <= 0 or not (obj.fill or obj.stroke):
            return
        patches = self._glyphs(obj, self._device(obj, outer))
        if not patches:
            return
        x0 = min(p[1] for p in patches)
        y0 = min(p[2] for p in patches)
        x1 = max(p[1] + p[0].shape[1] for p in patches)
        y1 = max(p[2] + p[0].shape[0] for p in patches)
        region = _Region((x0, y0, x1, y1), self.canvas)
        if region.empty:
            return
        coverage = np.zeros(region.shape, dtype=np.uint8)
        for mask, px, py in patches:
            gx0, gy0 = max(px, region.x0), max(py, region.y0)
            gx1, gy1 = min(px + mask.shape[1], region.x1), min(py + mask.shape[0], region.y1)
            if gx1 <= gx0 or gy1 <= gy0:
                continue
            part = mask[gy0 - py : gy1 - py, gx0 - px : gx1 - px]
            view = coverage[gy0 - region.y0 : gy1 - region.y0, gx0 - region.x0 : gx1 - region.x0]
            np.maximum(view, part, out=view)
        colour = obj.fill_color if obj.fill else obj.stroke_color
        opacity = colour.alpha / 255.0 * obj.alpha / 255.0
        self._blend(
            region,
            coverage.astype(np.float32) * (opacity / 255.0),
            colour.rgb,
            self._clip_mask(obj, outer, region),
        )

    def _glyphs(self, obj: TextObject, matrix: Matrix) -> List[Tuple[Image, int, int]]:
        """Each glyph's coverage and its top-left pixel on the page."""
        a, b, c, d, _, _ = matrix
        scale = _scale_of(matrix)
        if scale == 0:
            return []
        linear: Optional[Tuple[float, float, float, float]] = None
        if abs(b) < 1e-9 and abs(c) < 1e-9 and a > 0 and d > 0:
            pixels = max(1, min(MAX_GLYPH_PIXELS, round(obj.size * d)))
            if abs(a * obj.h_scale - d) > 1e-6 * d:
                linear = (a * obj.h_scale / d, 0.0, 0.0, 1.0)
        else:
            pixels = max(1, min(MAX_GLYPH_PIXELS, round(obj.size * scale)))
            linear = (a / scale * obj.h_scale, b / scale * obj.h_scale, c / scale, d / scale)
        bold = max(1, pixels // 40) if obj.weight >= 600 else 0
        height, width = self.canvas.shape[:2]
        reach = pixels * 4
        patches: List[Tuple[Image, int, int]] = []
        for code in obj.codes:
            for char, x, y in code.positions(
                lambda char: self.fonts.advance(obj.font, pixels, char) * obj.size / pixels
            ):
                origin = _apply(matrix, np.array([[x, y]], dtype=np.float64))[0]
                if char.isspace() or not (
                    -reach < origin[0] < width + reach and -reach < origin[1] < height + reach
                ):
                    continue
                mask, left, top = self.fonts.glyph(obj.font, pixels, char, bold)
                if linear is None:
                    patches.append((mask, round(origin[0] + left), round(origin[1] + top)))
                else:
                    patches.append(self._warp_glyph(mask, left, top, origin, linear))
        return patches

    @staticmethod
    def _warp_glyph(
        mask: Image, left: int, top: int, origin: Points, linear: Tuple[float, float, float, float]
    ) -> Tuple[Image, int, int]:
        la, lb, lc, ld = linear
        h, w = mask.shape
        corners = np.array(
            [[left, top], [left + w, top], [left, top + h], [left + w, top + h]], dtype=np.float64
        )
        xs = la * corners[:, 0] + lc * corners[:, 1] + origin[0]
        ys = lb * corners[:, 0] + ld * corners[:, 1] + origin[1]
        x0, y0 = math.floor(xs.min()), math.floor(ys.min())
        x1, y1 = math.ceil(xs.max()) + 1, math.ceil(ys.max()) + 1
        affine = np.array(
            [
                [la, lc, la * left + lc * top + origin[0] - x0],
                [lb, ld, lb * left + ld * top + origin[1] - y0],
            ],
            dtype=np.float64,
        )
        warped = cv2.warpAffine(
            mask, affine, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=(0,)
        )
        return warped, x0, y0

    # paths
    def _path(self, obj: PathObject, outer: Matrix) -> None:
        if not (obj.fill or obj.stroke) or not obj.path:
            return
        matrix = self._device(obj, outer)
        subpaths = [(_apply(matrix, points), closed) for points, closed in flatten(obj.path)]
        subpaths = [(points, closed) for points, closed in subpaths if len(points)]
        if not subpaths:
            return
        every = np.concatenate([points for points, _ in subpaths])
        margin = (obj.line_width * _scale_of(matrix) if obj.stroke else 0) + 2
        low, high = every.min(axis=0) - margin, every.max(axis=0) + margin
        region = _Region((low[0], low[1], high[0], high[1]), self.canvas)
        if region.empty:
            return
        clip = self._clip_mask(obj, outer, region)
        if obj.fill:
            layer = np.zeros(region.shape, dtype=np.uint8)
            polygons = [_poly(points, region) for points, _ in subpaths if len(points) > 2]
            if polygons:
                cv2.fillPoly(layer, polygons, (255,), lineType=cv2.LINE_AA, shift=4)
                opacity = obj.fill_color.alpha / 255.0 * obj.alpha / 255.0
                self._blend(
                    region, layer.astype(np.float32) * (opacity / 255.0), obj.fill_color.rgb, clip
                )
        if obj.stroke:
            layer = np.zeros(region.shape, dtype=np.uint8)
            width_px = obj.line_width * _scale_of(matrix)
            for points, closed in subpaths:
                _stroke(layer, points, closed, width_px, region)
            opacity = obj.stroke_color.alpha / 255.0 * obj.alpha / 255.0
            self._blend(
                region, layer.astype(np.float32) * (opacity / 255.0), obj.stroke_color.rgb, clip
            )

    # images
    def _decoded(self, resource: str, out_w: float, out_h: float) -> Optional[Image]:
        media = self.document.media.get(resource)
        if media is None:
            self.skipped.append(f"image {resource}: not in the resources")
            return None
        stored = self.document.package.find(media.file)
        if stored is None:
            self.skipped.append(f"image {resource}: {media.file} is missing")
            return None
        data = self.document.package[stored]
        reduce = 1
        if data[:3] == b"\xff\xd8\xff":  # JPEG decodes at 1/2, 1/4, 1/8 for less
            size = _jpeg_size(data)
            if size is not None:
                while (
                    reduce < 8
                    and size[0] / (reduce * 2) >= out_w
                    and size[1] / (reduce * 2) >= out_h
                ):
                    reduce *= 2
        key = f"{resource}/{reduce}"
        if key not in self._images:
            picture = decode_picture(data, reduce)
            if picture is None:
                self.skipped.append(
                    f"image {resource}: {media.format or 'its format'} cannot be decoded"
                )
            self._images[key] = picture
        return self._images[key]

    def _image(self, obj: ImageObject, outer: Matrix) -> None:
        unit = self._device(obj, outer)
        a, b, c, d, _, _ = unit
        picture = self._decoded(obj.resource, math.hypot(a, b), math.hypot(c, d))
        if picture is None:
            return
        self._place(picture, unit, lambda region: self._clip_mask(obj, outer, region), obj.alpha)

    def _place(
        self,
        picture: Image,
        unit: Matrix,
        clip_for: Optional[Callable[[_Region], Optional[Mask]]],
        alpha: int = 255,
        ink: bool = False,
    ) -> None:
        """Draw a BGRA ``picture`` so that its unit square goes through ``unit``; ``ink``:
        multiplied into the page (a seal)."""
        h, w = picture.shape[:2]
        corners = _apply(unit, np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64))
        low, high = corners.min(axis=0), corners.max(axis=0)
        region = _Region((low[0], low[1], high[0], high[1]), self.canvas)
        if region.empty:
            return
        a, b, c, d, e, f = unit
        # the output size in pixels along the picture's axes decides a pre-shrink
        out_w, out_h = math.hypot(a, b), math.hypot(c, d)
        if out_w < w / 2 or out_h < h / 2:
            new_w, new_h = max(1, round(min(w, out_w))), max(1, round(min(h, out_h)))
            picture = cv2.resize(picture, (new_w, new_h), interpolation=cv2.INTER_AREA)
            h, w = picture.shape[:2]
        clip = clip_for(region) if clip_for is not None else None
        opaque = not ink and alpha == 255 and clip is None and bool((picture[..., 3] == 255).all())
        if opaque and abs(b) < 1e-9 and abs(c) < 1e-9 and a > 0 and d > 0:
            self._paste(picture, (e, f, e + a, f + d))
            return
        affine = np.array(
            [[a / w, c / h, e - region.x0], [b / w, d / h, f - region.y0]], dtype=np.float64
        )
        size = (region.x1 - region.x0, region.y1 - region.y0)
        warped = cv2.warpAffine(
            picture,
            affine,
            size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        coverage = warped[..., 3].astype(np.float32) * (alpha / 255.0 / 255.0)
        colour = warped[..., :3]
        self._blend(region, coverage, colour, clip, multiply=ink)

    def _paste(self, picture: Image, box: Tuple[float, float, float, float]) -> None:
        """An opaque, upright picture: scaled straight into the page (most pages' case)."""
        x0, y0, x1, y1 = (round(v) for v in box)
        if x1 <= x0 or y1 <= y0:
            return
        height, width = self.canvas.shape[:2]
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        scaled = cv2.resize(picture[..., :3], (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        self.canvas[cy0:cy1, cx0:cx1] = scaled[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]

    # seals
    def _stamp(self, stamp: StampPicture) -> None:
        picture = decode_picture(stamp.picture)
        if picture is None and stamp.picture[:4] == b"PK\x03\x04":
            picture = _ofd_picture(stamp.picture, stamp.boundary, self.page_matrix[0] * MM_PER_INCH)
        if picture is None:
            self.skipped.append("seal picture: cannot be decoded")
            return
        box = stamp.boundary.normalised()
        unit = multiply((box.w, 0.0, 0.0, box.h, box.x, box.y), self.page_matrix)
        self._place(_ink(picture), unit, None, ink=True)


def _ink(picture: Image) -> Image:
    """A seal picture as ink on the page: an opaque picture's white paper becomes
    transparent (each pixel un-blended from white: the least ink that, laid over white,
    gives the pixel), so the text under a seal shows through as it does on paper.
    A picture with its own transparency is left as its maker drew it."""
    if not bool((picture[..., 3] == 255).all()):
        return picture
    colour = picture[..., :3].astype(np.float32)
    alpha = 255.0 - colour.min(axis=2)
    safe = np.maximum(alpha, 1.0)[..., None]
    ink = np.clip((colour - 255.0 + alpha[..., None]) * 255.0 / safe, 0, 255)
    return np.dstack([ink, alpha[..., None]]).astype(np.uint8)


_REDUCED = {
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


def _jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """A JPEG's width and height from its frame header, without decoding it."""
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + length
    return None


def decode_picture(data: bytes, reduce: int = 1) -> Optional[Image]:
    """A picture as BGRA (a JPEG at 1/``reduce`` of its size), or None when it is not
    an image OpenCV or Pillow can read."""
    if not data:
        return None
    if data.startswith(jbig2.MAGIC):
        converted = jbig2.decode_png(data)
        if converted is None:
            return None
        data = converted
    from PIL import Image as PILImage  # noqa: PLC0415 - Pillow loads only when a page is drawn

    try:  # the header only: a picture too large is refused before it is inflated
        with PILImage.open(io.BytesIO(data)) as opened:
            width, height = opened.size
    except (OSError, ValueError, PILImage.DecompressionBombError):  # unidentified: OSError
        return None
    if width * height > MAX_PICTURE_PIXELS:
        return None
    flags = _REDUCED.get(reduce, cv2.IMREAD_UNCHANGED)
    picture: Optional[Image] = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if picture is None:
        try:
            with PILImage.open(io.BytesIO(data)) as opened:
                rgba = np.asarray(opened.convert("RGBA"), dtype=np.uint8)
            return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
        except (OSError, ValueError, PILImage.DecompressionBombError):  # unidentified: OSError
            return None
    if picture.dtype != np.uint8:
        picture = (
            (picture / 257).astype(np.uint8)
            if picture.dtype == np.uint16
            else picture.astype(np.uint8)
        )
    if picture.ndim == 2:
        return cv2.cvtColor(picture, cv2.COLOR_GRAY2BGRA)
    if picture.shape[2] == 3:
        return cv2.cvtColor(picture, cv2.COLOR_BGR2BGRA)
    return picture


def _ofd_picture(data: bytes, boundary: Box, dpi: float) -> Optional[Image]:
    """A seal picture given as an OFD document: its first page, white made transparent."""
    try:
        document = read_ofd(data)
        page = PageRenderer(document).render(0, max(MIN_DPI, min(MAX_DPI, dpi))).image
    except OfdError:
        return None
    bgra = cv2.cvtColor(page, cv2.COLOR_BGR2BGRA)
    whiteness = page.min(axis=2)
    bgra[..., 3] = 255 - whiteness
    return bgra


# ---- entry points ---------------------------------------------------------------------


def render_page(
    document: Document,
    index: int,
    dpi: float = PREVIEW_DPI,
    stamps: Iterable[StampPicture] = (),
    for_print: bool = False,
) -> Rendered:
    """Page ``index`` (0-based) of ``document`` as a BGR image at ``dpi``."""
    return PageRenderer(document).render(index, dpi, stamps, for_print)


def encode_png(image: Image) -> bytearray:
    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:  # pragma: no cover - OpenCV encodes any BGR array
        raise RenderError("render: the page could not be encoded as PNG")
    return bytearray(encoded.tobytes())


def render_png(
    document: Document,
    index: int,
    dpi: float = PREVIEW_DPI,
    stamps: Iterable[StampPicture] = (),
) -> bytearray:
    """Page ``index`` as PNG bytes, for the preview (a ``bytearray`` the session can zero)."""
    return encode_png(render_page(document, index, dpi, stamps).image)


def render_pngs(
    document: Document, dpi: float = PREVIEW_DPI, stamps: Sequence[StampPicture] = ()
) -> List[bytearray]:
    renderer = PageRenderer(document)
    return [encode_png(renderer.render(i, dpi, stamps).image) for i in range(len(document.pages))]


def render_pdf(
    document: Document, dpi: float = PRINT_DPI, stamps: Sequence[StampPicture] = ()
) -> bytearray:
    """Every page rendered at ``dpi`` and wrapped in a PDF of the pages' size, for CUPS.

    The PDF holds one Flate-compressed RGB image per page, so the A4 printer's path
    (which sends PDF) prints OFD documents unchanged.
    """
    renderer = PageRenderer(document)
    pages = []
    for index, page in enumerate(document.pages):
        box = document.page_box(page)
        image = renderer.render(index, dpi, stamps, for_print=True).image
        pages.append((box.w / MM_PER_INCH * 72.0, box.h / MM_PER_INCH * 72.0, image))
    return image_pdf(pages)


def image_pdf(pages: Sequence[Tuple[float, float, Image]]) -> bytearray:
    """A PDF of pages ``(width pt, height pt, BGR image)``, each image filling its page."""
    parts = []
    for width, height, image in pages:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)  # a reversed channel view copied: 10x slower
        entries = (
            f"/Width {image.shape[1]} /Height {image.shape[0]}"
            " /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode"
        )
        # level 1: half the time of level 6 for a page 15 % larger
        parts.append(PdfImage(width, height, entries, zlib.compress(rgb.data, 1)))
    return pdf_of_images(parts)
