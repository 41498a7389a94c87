"""Finding the page in a document camera frame.

The search runs on a copy about :data:`WORK_WIDTH` pixels wide seen two ways: *paperness*
``min(B, G, R) − (max − min) / 2`` — high for white or grey paper, low for wood, skin,
coloured objects and dark mats — and *light*, the mean of grey and paperness. Candidate
outlines come from two independent cues, so that each covers the other's weakness:

- *regions*: paperness thresholded at a few levels around Otsu's (a page is a bright,
  colourless region; a shadow across it is a matter of level);
- *edges*: Canny on the gradient of log light, where a soft shadow (which multiplies)
  has almost no gradient and a page's edge the same step in light and shade, even on a
  light desk.

Each outline becomes four corners twice: from its convex hull (fingers and a red seal
only notch a page's hull) and from its four longest straight runs (where a hand crosses
an edge the hull cuts a corner, but the sides are still there). Candidates are judged by
*support*, the share of points along their sides where the inside is clearly brighter
than the outside both just inside and deeper in; the largest of the best-supported
plausible ones (convex, big enough, angles and sides like a page's, bright) wins. Its
sides are then found at full resolution along short profiles across each side — a few
thousand pixels read, not the frame — fitted as lines with outliers (a finger, a line
printed on the mat) dropped, and intersected: the corners land within a fraction of a
percent of the page's diagonal (``bench/bench_doccam.py``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Tuple

import cv2
import numpy as np

from .errors import FrameError
from .quad import Line, Point, Quad, intersection

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[Any]  #: 8-bit, BGR or grey (OpenCV's stubs type pixels loosely)
    Floats = NDArray[Any]  #: float32

#: Width of the working copy the search runs on.
WORK_WIDTH = 640
#: Smallest frame side accepted.
MIN_SIDE = 32
#: A page covers at least this share of the frame.
MIN_AREA = 0.04
#: Interior angles of a plausible page (a tilted page or camera shows a trapezium).
MIN_ANGLE, MAX_ANGLE = 50.0, 130.0
#: Longest to shortest side, across the page's own aspect and perspective.
MAX_ELONGATION = 3.2
#: Share of side points that must show the page's edge ...
MIN_SUPPORT = 0.7
#: ... and on every one of the four sides (a hand may hide part of one).
MIN_SIDE_SUPPORT = 0.45
#: Outlines this close to the best support compete on size.
SUPPORT_MARGIN = 0.05
#: Inside brighter than outside by this ratio to count as the page's edge.
EDGE_RATIO = 1.05
#: A page is at least this bright (0–255) ...
MIN_LEVEL = 80.0
#: ... and at least this share of the frame's brightest (paper is the whitest thing there).
MIN_RELATIVE_LEVEL = 0.4
#: Canny thresholds (low, high) on the gradient of log light: a faint edge (a white page
#: on a light desk is 5–15 % brighter) and a clear one.
EDGE_LEVELS = ((0.2, 0.35), (0.6, 1.2))
#: Fixed-point scale of the gradients handed to Canny.
GRADIENT_SCALE = 100.0
#: Half-width (px at full resolution) of the profiles of the second refinement.
FINE_BAND = 6
#: Share of a side's profiles nearest a corner that place the corner at last ...
NEAR_CORNER = 0.3
#: ... unless they put it this far (px) from where the whole sides meet.
CORNER_REACH = 12.0
#: Candidates refined at most before giving up on a frame.
TRIES = 6
#: Share of a side's profiles that must cross a sharp edge on one straight line ...
MIN_EDGE_SHARE = 0.4
#: ... within this distance (px): a page's edge does (all along, bar a hand on it; a page
#: not quite flat bows a little), a shadow's soft boundary or text does not.
ON_LINE = 2.0


def as_bgr(frame: Any) -> Image:
    """The frame as a contiguous 8-bit BGR image, or :class:`FrameError` saying why not.

    Accepted: ``H × W`` grey, ``H × W × 1``, ``H × W × 3`` (BGR) or ``H × W × 4`` (BGRA), 8-bit,
    at least :data:`MIN_SIDE` pixels each way.
    """
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"expected an image array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"expected 8-bit pixels, got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)):
        raise FrameError(f"expected a grey, BGR or BGRA image, got shape {frame.shape}")
    if min(frame.shape[:2]) < MIN_SIDE:
        raise FrameError(f"the frame is too small: {frame.shape[1]}×{frame.shape[0]}")
    contiguous = np.ascontiguousarray(frame)
    if frame.ndim == 2:
        grey: Image = cv2.cvtColor(contiguous, cv2.COLOR_GRAY2BGR)
        return grey
    if frame.shape[2] == 4:
        bgr: Image = cv2.cvtColor(contiguous, cv2.COLOR_BGRA2BGR)
        return bgr
    return contiguous


def paperness(bgr: Image) -> Image:
    """``min − (max − min) / 2`` per pixel, saturated at 0: bright and nearly colourless
    (paper may be a little warm) is paper."""
    b, g, r = cv2.split(bgr)
    low = cv2.min(cv2.min(b, g), r)
    high = cv2.max(cv2.max(b, g), r)
    out: Image = cv2.addWeighted(low, 1.5, high, -0.5, 0.0)
    return out


def light(bgr: Image) -> Image:
    """The mean of grey and :func:`paperness`: it keeps a warm page's step over a white
    desk (where paperness alone loses it) and a white page's over wood."""
    out: Image = cv2.addWeighted(
        cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 0.5, paperness(bgr), 0.5, 0.0
    )
    return out


def shrink(image: Image, width: int) -> Image:
    """``image`` scaled to about ``width`` pixels wide: halved by area averaging (fast,
    and it averages noise away) while it stays at least twice that, then resampled."""
    while image.shape[1] >= 2 * width:
        half = ((image.shape[1] + 1) // 2, (image.shape[0] + 1) // 2)
        image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    if image.shape[1] > width:
        size = (width, max(1, round(image.shape[0] * width / image.shape[1])))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    return image


@dataclass(frozen=True)
class Views:
    """The working copy seen two ways, both lightly blurred."""

    paper: Image  #: :func:`paperness`, for regions
    light: Image  #: :func:`light`, for edges and support

    @classmethod
    def of(cls, small: Image) -> Views:
        return cls(
            cv2.GaussianBlur(paperness(small), (5, 5), 0),
            cv2.GaussianBlur(light(small), (5, 5), 0),
        )


@dataclass(frozen=True)
class Candidate:
    quad: Quad  #: in working-copy pixels
    support: float


def find_page(frame: Any, *, work_width: int = WORK_WIDTH) -> Optional[Quad]:
    """The corners of the largest plausible page in a BGR frame, or None.

    Raises :class:`FrameError` for an input that is not an 8-bit image (see :func:`as_bgr`).
    """
    image = as_bgr(frame)
    height, width = image.shape[:2]
    small = shrink(image, work_width)
    views = Views.of(small)
    scale_x, scale_y = width / small.shape[1], height / small.shape[0]
    coarse_band = round(2.5 * max(scale_x, scale_y)) + FINE_BAND
    for candidate in _ranked(views, _candidates(views))[:TRIES]:
        coarse = Quad.from_points((candidate.quad.points() + 0.5) * (scale_x, scale_y) - 0.5)
        refined = refine(image, coarse, band=coarse_band)
        if refined is None:
            continue  # no sharp edge along a side: a shadow's boundary, not a page's
        refined = refine(image, refined, band=FINE_BAND, near_corners=True) or refined
        if plausible(refined, (width, height)):
            return refined
    return None


# -- candidates --------------------------------------------------------------------------


def _candidates(views: Views) -> Iterator[Quad]:
    height, width = views.paper.shape
    min_area = MIN_AREA * width * height
    hulls: List[Tuple[float, Tuple[int, int, int, int]]] = []
    for contour in _region_contours(views.paper) + _edge_contours(views.light):
        x, y, w, h = cv2.boundingRect(contour)
        box = (x, y, w, h)
        if w * h < min_area:
            continue
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull)
        if area < min_area * 0.8:
            continue
        if any(_same_hull((area, box), seen) for seen in hulls):
            continue  # the same outline from another threshold or edge level
        hulls.append((area, box))
        for quad in (_quad_of_hull(hull), _quad_of_sides(contour, hull)):
            if quad is not None:
                yield quad


def _same_hull(
    a: Tuple[float, Tuple[int, int, int, int]], b: Tuple[float, Tuple[int, int, int, int]]
) -> bool:
    return abs(a[0] - b[0]) <= 0.01 * b[0] and all(abs(p - q) <= 1 for p, q in zip(a[1], b[1]))


def _region_contours(paper: Image) -> List[Any]:
    otsu, _ = cv2.threshold(paper, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    found: List[Any] = []
    for level in sorted({otsu, otsu * 0.7, otsu + (255 - otsu) * 0.3}):
        _, mask = cv2.threshold(paper, level, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found.extend(contours)
    return found


def _edge_contours(light_: Image) -> List[Any]:
    log = cv2.log(light_.astype(np.float32) + 32.0)
    dx = cv2.Sobel(log, cv2.CV_32F, 1, 0)
    dy = cv2.Sobel(log, cv2.CV_32F, 0, 1)
    dx16 = np.clip(dx * GRADIENT_SCALE, -32767, 32767).astype(np.int16)
    dy16 = np.clip(dy * GRADIENT_SCALE, -32767, 32767).astype(np.int16)
    found: List[Any] = []
    kernel = np.ones((3, 3), np.uint8)
    for low, high in EDGE_LEVELS:
        edges = cv2.Canny(dx16, dy16, low * GRADIENT_SCALE, high * GRADIENT_SCALE, L2gradient=True)
        contours, _ = cv2.findContours(
            cv2.dilate(edges, kernel), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE
        )
        found.extend(contours)
    return found


def _quad_of_hull(hull: Any) -> Optional[Quad]:
    """Four corners of a convex hull: its simplification to four vertices, or the
    largest quadrilateral on the vertices of a coarser simplification."""
    perimeter = cv2.arcLength(hull, True)
    for epsilon in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, epsilon * perimeter, True).reshape(-1, 2)
        if len(approx) < 4:
            return None
        if len(approx) == 4:
            return _convex_quad(approx)
        if len(approx) <= 12:
            return _largest_quad(approx.astype(np.float64))
    return None


def _largest_quad(points: NDArray[np.float64]) -> Optional[Quad]:
    picks = np.array(list(itertools.combinations(range(len(points)), 4)))
    x, y = points[picks, 0], points[picks, 1]
    areas = np.abs((x * np.roll(y, -1, axis=1) - y * np.roll(x, -1, axis=1)).sum(axis=1))
    return _convex_quad(points[picks[int(np.argmax(areas))]])


def _quad_of_sides(contour: Any, hull: Any) -> Optional[Quad]:
    """Four corners where the contour's four longest straight runs meet.

    Runs on one line count together (a side cut in two by a finger; both faces of an
    edge traced as an open curve).
    """
    perimeter = cv2.arcLength(hull, True)
    polygon = cv2.approxPolyDP(contour, 0.008 * perimeter, True).reshape(-1, 2).astype(float)
    if len(polygon) < 4:
        return None
    along = np.roll(polygon, -1, axis=0) - polygon
    lengths = np.hypot(along[:, 0], along[:, 1])
    # each side as (normal x, normal y, offset, total length)
    sides: List[List[float]] = []
    parallel = math.cos(math.radians(6))
    tolerance = 0.015 * perimeter
    for k in np.argsort(-lengths):
        length = float(lengths[k])
        if length < 0.04 * perimeter:
            break
        nx, ny = -along[k, 1] / length, along[k, 0] / length
        mx, my = polygon[k] + along[k] / 2
        for side in sides:
            if abs(nx * side[0] + ny * side[1]) > parallel and (
                abs(side[0] * mx + side[1] * my - side[2]) < tolerance
            ):
                side[3] += length
                break
        else:
            sides.append([nx, ny, nx * mx + ny * my, length])
    if len(sides) < 4:
        return None
    sides = sorted(sides, key=lambda s: -s[3])[:4]
    if sum(s[3] for s in sides) < 0.5 * perimeter:
        return None
    cx, cy = hull.reshape(-1, 2).mean(axis=0)

    def bearing(side: List[float]) -> float:
        """Direction from the centre to the side's nearest point."""
        reach = side[2] - side[0] * cx - side[1] * cy
        return math.atan2(side[1] * reach, side[0] * reach)

    around = sorted(sides, key=bearing)
    lines: List[Line] = [(s[0], s[1], -s[2]) for s in around]
    corners = [intersection(lines[k - 1], lines[k]) for k in range(4)]
    if not all(math.isfinite(x) and math.isfinite(y) for x, y in corners):
        return None
    return _convex_quad(corners)


def _convex_quad(points: Any) -> Optional[Quad]:
    quad = Quad.from_points(points)
    return quad if quad.is_convex() else None


# -- judging -------------------------------------------------------------------------------


def plausible(quad: Quad, size: Tuple[int, int]) -> bool:
    """Convex, inside the frame, big enough, with angles and sides like a page's."""
    width, height = size
    points = quad.points()
    if not quad.is_convex():
        return False
    if (points < -1.0).any() or (points[:, 0] > width).any() or (points[:, 1] > height).any():
        return False
    if quad.area < MIN_AREA * width * height:
        return False
    if not all(MIN_ANGLE <= a <= MAX_ANGLE for a in quad.angles()):
        return False
    sides = quad.sides()
    return max(sides) <= MAX_ELONGATION * min(sides)


def _side_samples(quad: Quad, count: int) -> Tuple[Floats, Floats]:
    """``count`` points along each side (4 × count × 2) and the sides' outward normals."""
    points = quad.points()
    along = points[[1, 2, 3, 0]] - points
    lengths = np.maximum(np.hypot(along[:, 0], along[:, 1]), 1e-9)[:, None]
    outward = np.stack([along[:, 1], -along[:, 0]], axis=1) / lengths
    t = np.linspace(0.05, 0.95, count)[None, :, None]
    samples = points[:, None, :] + along[:, None, :] * t
    return samples.astype(np.float32), outward.astype(np.float32)


def support(
    quad: Quad, feature: Image, depth: float = 3.0, count: int = 24
) -> Tuple[float, float, float]:
    """How well ``quad`` follows a bright region's edge in ``feature``.

    A side point supports it when the inside is brighter than the outside by
    :data:`EDGE_RATIO` both just inside and deeper in (a thin bright line, such as a guide
    printed on a mat, is bright only just inside); points whose outside is off the frame
    never do. Returns the share overall, the share on the weakest side and the median
    level just inside.
    """
    samples, outward = _side_samples(quad, count)
    step = outward[:, None, :] * depth
    spots = np.concatenate([samples - step, samples - step * 2.5, samples + step])
    values = cv2.remap(
        feature,
        np.ascontiguousarray(spots[..., 0]),
        np.ascontiguousarray(spots[..., 1]),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0,),
    ).astype(np.float32)
    height, width = feature.shape[:2]
    outside = spots[8:12]
    off = (
        (outside[..., 0] < 0)
        | (outside[..., 1] < 0)
        | (outside[..., 0] > width - 1)
        | (outside[..., 1] > height - 1)
    )
    inside = np.minimum(values[:4], values[4:8])
    good = (inside + 4.0 >= EDGE_RATIO * (values[8:12] + 4.0) + 4.0) & ~off
    level = float(np.partition(values[:4].ravel(), values[:4].size // 2)[values[:4].size // 2])
    return float(good.mean()), float(good.mean(axis=1).min()), level


def _ranked(views: Views, quads: Iterator[Quad]) -> List[Candidate]:
    """Plausible, supported, bright outlines, the most likely page first.

    Support decides first (an outline that strays onto a line printed on the mat, or
    follows a shadow across the page, loses a few points of it); among outlines as well
    supported as the best, the largest comes first, so a page lying on a larger sheet
    yields to the sheet.
    """
    height, width = views.light.shape
    brightest = float(np.percentile(views.light[::4, ::4], 99))
    found: List[Candidate] = []
    for quad in quads:
        if not plausible(quad, (width, height)):
            continue
        overall, weakest, level = support(quad, views.light)
        if overall < MIN_SUPPORT or weakest < MIN_SIDE_SUPPORT:
            continue
        if level < max(MIN_LEVEL, MIN_RELATIVE_LEVEL * brightest):
            continue  # dark: a phone's screen in its bezel
        found.append(Candidate(quad, overall))
    if not found:
        return []
    top = max(c.support for c in found)
    ranked: List[Candidate] = []
    for candidate in sorted(
        found, key=lambda c: (c.support >= top - SUPPORT_MARGIN, c.quad.area), reverse=True
    ):
        quad = candidate.quad
        if all(quad.distance(r.quad) > 0.05 * quad.diagonal for r in ranked):
            ranked.append(candidate)  # not a near copy of a likelier one
    return ranked


# -- refinement at full resolution ---------------------------------------------------------


def refine(
    image: Image, quad: Quad, band: int, count: int = 40, *, near_corners: bool = False
) -> Optional[Quad]:
    """The quad with each side moved to the page's edge found within ``band`` pixels of
    it; None when a side's edge cannot be found.

    With ``near_corners``, each corner is where the stretches of its two sides nearest to
    it meet rather than the whole sides: a page that does not lie flat bows its sides a
    little, and its corners are where the bows end.
    """
    samples, outward = _side_samples(quad, count)
    offsets = np.arange(-band, band + 1, dtype=np.float32)
    xs = samples[..., 0][..., None] + outward[:, None, None, 0] * offsets
    ys = samples[..., 1][..., None] + outward[:, None, None, 1] * offsets
    profiles = cv2.remap(
        image,
        xs.reshape(4 * count, -1),
        ys.reshape(4 * count, -1),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    values = light(profiles).astype(np.float32).reshape(4, count, -1)
    height, width = image.shape[:2]
    inside_frame = (xs >= 0) & (ys >= 0) & (xs <= width - 1) & (ys <= height - 1)
    lines: List[Line] = []
    edges: List[Tuple[NDArray[np.intp], Floats]] = []
    for side in range(4):
        rows, shifts = _falls(values[side], inside_frame[side])
        points = samples[side][rows] + outward[side] * shifts[:, None]
        line, on_line = _fit_line(points)
        if line is None or on_line < MIN_EDGE_SHARE * count:
            return None  # no straight sharp edge along this side
        lines.append(line)
        edges.append((rows, points))
    corners = [intersection(lines[k - 1], lines[k]) for k in range(4)]
    if near_corners:
        corners = [_corner(edges[k - 1], edges[k], count, corners[k]) for k in range(4)]
    if not all(math.isfinite(x) and math.isfinite(y) for x, y in corners):
        return None
    return _convex_quad(corners)


def _corner(
    before: Tuple[NDArray[np.intp], Floats],
    after: Tuple[NDArray[np.intp], Floats],
    count: int,
    whole: Point,
) -> Point:
    """Where the ends of two sides nearest their shared corner meet; ``whole`` (the
    whole sides' corner) when either end is hidden or the two disagree."""
    near = round(NEAR_CORNER * count)
    ends = (before[1][before[0] >= count - near], after[1][after[0] < near])
    lines = []
    for points in ends:
        line, on_line = _fit_line(points) if len(points) >= 6 else (None, 0)
        if line is None or on_line < 0.6 * len(points):
            return whole
        lines.append(line)
    x, y = intersection(lines[0], lines[1])
    if (
        not (math.isfinite(x) and math.isfinite(y))
        or math.hypot(x - whole[0], y - whole[1]) > CORNER_REACH
    ):
        return whole
    return (x, y)


def _falls(values: Floats, valid: NDArray[np.bool_]) -> Tuple[NDArray[np.intp], Floats]:
    """Where along each profile (row) the light falls most steeply going outward, to a
    fraction of a pixel: the rows where such a fall was found and its offsets from the
    row's centre."""
    smooth = values.copy()
    smooth[:, 1:-1] = (values[:, :-2] + 2 * values[:, 1:-1] + values[:, 2:]) / 4
    slope = np.zeros_like(smooth)
    slope[:, 1:-1] = smooth[:, 2:] - smooth[:, :-2]
    slope[~valid] = 0.0
    slope[:, :2] = 0.0
    slope[:, -2:] = 0.0
    k = np.argmin(slope, axis=1)
    rows = np.arange(len(values))
    drop = -slope[rows, k]
    span = np.maximum(smooth.max(axis=1) - smooth.min(axis=1), 1.0)
    ok = (drop > 6.0) & (drop > 0.25 * span)
    rows, k = rows[ok], k[ok]
    before, at, after = slope[rows, k - 1], slope[rows, k], slope[rows, k + 1]
    curvature = before - 2 * at + after
    safe = np.where(np.abs(curvature) > 1e-6, curvature, 1.0)
    shift = np.where(np.abs(curvature) > 1e-6, 0.5 * (before - after) / safe, 0.0)
    centre = (values.shape[1] - 1) / 2
    return rows, (k + np.clip(shift, -0.5, 0.5) - centre).astype(np.float32)


def _fit_line(points: Floats, rounds: int = 3) -> Tuple[Optional[Line], int]:
    """The total-least-squares line through the points, refitted without outliers, and
    how many points lie within :data:`ON_LINE` pixels of it."""
    keep = np.ones(len(points), bool)
    line: Optional[Line] = None
    residual = np.zeros(len(points))
    for _ in range(rounds):
        chosen = points[keep].astype(np.float64)
        if len(chosen) < 6:
            return None, 0
        cx, cy = chosen.mean(axis=0)
        dx, dy = chosen[:, 0] - cx, chosen[:, 1] - cy
        angle = 0.5 * math.atan2(2 * float(dx @ dy), float(dx @ dx - dy @ dy))
        nx, ny = -math.sin(angle), math.cos(angle)  # across the principal direction
        line = (nx, ny, -(nx * cx + ny * cy))
        residual = np.abs(points[:, 0] * nx + points[:, 1] * ny + line[2])
        spread = 1.4826 * float(np.median(residual[keep]))
        keep = residual <= max(1.5, 3.0 * spread)
    return line, int((residual <= ON_LINE).sum())
