"""A page outline: four corners in frame pixels, and the geometry the other modules share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Tuple

import numpy as np

from .errors import QuadError

if TYPE_CHECKING:
    from numpy.typing import NDArray

Point = Tuple[float, float]
#: Index of each corner's successor and predecessor around the outline.
# Index lists, not arrays: NumPy is only imported when a page is looked at.
_NEXT = [1, 2, 3, 0]
_PREV = [3, 0, 1, 2]


@dataclass(frozen=True)
class Quad:
    """Corners in frame pixel coordinates (x right, y down), clockwise from top-left.

    "Top-left" is the corner nearest the frame's top-left as seen from the page's centre,
    so a page turned by less than 45° keeps its corners' names.
    """

    tl: Point
    tr: Point
    br: Point
    bl: Point

    @classmethod
    def from_points(cls, points: Any) -> Quad:
        """Four points in any order → a :class:`Quad` ordered clockwise from top-left."""
        try:
            array = np.asarray(points, dtype=np.float64).reshape(4, 2)
        except (TypeError, ValueError) as err:
            raise QuadError("a page outline needs four (x, y) points") from err
        if not np.isfinite(array).all():
            raise QuadError("a page outline's corners must be finite numbers")
        centre = array.mean(axis=0)
        offsets = array - centre
        clockwise = array[np.argsort(np.arctan2(offsets[:, 1], offsets[:, 0]), kind="stable")]
        first = int(np.argmin((clockwise - centre).sum(axis=1)))
        ordered = np.roll(clockwise, -first, axis=0)
        tl, tr, br, bl = ((float(x), float(y)) for x, y in ordered)
        return cls(tl, tr, br, bl)

    @property
    def corners(self) -> Tuple[Point, Point, Point, Point]:
        return (self.tl, self.tr, self.br, self.bl)

    def points(self) -> NDArray[np.float64]:
        """The corners as a 4 × 2 array, in order."""
        return np.array(self.corners, dtype=np.float64)

    @property
    def diagonal(self) -> float:
        """The mean length of the two diagonals: the scale that tolerances are fractions of."""
        p = self.points()
        return float((np.hypot(*(p[2] - p[0])) + np.hypot(*(p[3] - p[1]))) / 2)

    @property
    def area(self) -> float:
        x, y = self.points().T
        return float(abs(np.dot(x, y[_NEXT]) - np.dot(y, x[_NEXT])) / 2)

    def sides(self) -> Tuple[float, float, float, float]:
        """Lengths of the top, right, bottom and left sides."""
        p = self.points()
        top, right, bottom, left = np.hypot(*(p[_NEXT] - p).T)
        return (float(top), float(right), float(bottom), float(left))

    def angles(self) -> Tuple[float, float, float, float]:
        """Interior angles at tl, tr, br, bl in degrees (they sum to 360 when convex)."""
        p = self.points()
        before = p[_PREV] - p
        after = p[_NEXT] - p
        cos = (before * after).sum(axis=1) / (np.hypot(*before.T) * np.hypot(*after.T) + 1e-12)
        a, b, c, d = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        return (float(a), float(b), float(c), float(d))

    def is_convex(self) -> bool:
        """Every turn goes the same way (clockwise on screen) and none is degenerate."""
        p = self.points()
        edges = p[_NEXT] - p
        following = edges[_NEXT]
        turns = edges[:, 0] * following[:, 1] - edges[:, 1] * following[:, 0]
        return bool((turns > 1e-9).all())

    def portrait(self) -> bool:
        """Whether the page stands taller than wide (by its mean opposite sides)."""
        top, right, bottom, left = self.sides()
        return (left + right) >= (top + bottom)

    def distance(self, other: Quad) -> float:
        """The largest distance between corresponding corners, in pixels."""
        return float(np.hypot(*(self.points() - other.points()).T).max())

    def scaled(self, factor: float) -> Quad:
        """The same outline in a frame ``factor`` times as large."""
        return Quad.from_points(self.points() * factor)

    def to_json(self) -> List[List[float]]:
        return [[round(x, 2), round(y, 2)] for x, y in self.corners]


def corner_error(found: Quad, truth: Quad) -> float:
    """The largest corner error as a fraction of the true page's diagonal.

    Corners are matched over the four cyclic shifts, so a page turned by about 45°, whose
    corners' names are ambiguous, is judged by where its corners are.
    """
    p, t = found.points(), truth.points()
    worst = min(float(np.hypot(*(np.roll(p, k, axis=0) - t).T).max()) for k in range(4))
    return worst / max(truth.diagonal, 1e-9)


Line = Tuple[float, float, float]


def intersection(l1: Line, l2: Line) -> Point:
    """Where two lines ``a·x + b·y + c = 0`` meet; infinite when they are parallel."""
    a1, b1, c1 = l1
    a2, b2, c2 = l2
    w = a1 * b2 - a2 * b1
    if abs(w) < 1e-12:
        return (math.inf, math.inf)
    return ((b1 * c2 - b2 * c1) / w, (a2 * c1 - a1 * c2) / w)
