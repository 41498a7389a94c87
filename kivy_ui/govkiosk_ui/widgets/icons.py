"""Line icons drawn with Kivy's graphics: department marks on the tiles, the tick, the brand.

Drawn rather than taken from an icon font: no font licence to track, crisp at any size
and in large-text mode, and each shape is a few lines of geometry in a unit square
(0–1, y up) scaled to the widget. :data:`SHAPES` names the icons the catalogue may ask
for (``icon`` in an item); an unknown name draws :data:`GENERIC`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Sequence, Tuple

from kivy.graphics import Color, Ellipse, Line
from kivy.properties import ListProperty, StringProperty
from kivy.uix.widget import Widget

from .. import theme

Stroke = Tuple[float, ...]
#: An icon: strokes (polylines in the unit square) and filled dots (x, y, radius).
Shape = Tuple[Tuple[Stroke, ...], Tuple[Tuple[float, float, float], ...]]


def star_vertices(cx: float, cy: float, radius: float) -> List[float]:
    """A five-pointed star as a triangle fan: centre, then ten rim points and the first again."""
    vertices = [cx, cy, 0.0, 0.0]
    for k in range(11):
        r = radius if k % 2 == 0 else radius * 0.4
        angle = math.pi / 2 + k * math.pi / 5
        vertices += [cx + r * math.cos(angle), cy + r * math.sin(angle), 0.0, 0.0]
    return vertices


def _circle(cx: float, cy: float, r: float, steps: int = 24) -> Stroke:
    points: List[float] = []
    for k in range(steps + 1):
        angle = 2 * math.pi * k / steps
        points += [cx + r * math.cos(angle), cy + r * math.sin(angle)]
    return tuple(points)


GENERIC: Shape = (  # a document with lines of text
    (
        (0.28, 0.12, 0.28, 0.88, 0.6, 0.88, 0.74, 0.74, 0.74, 0.12, 0.28, 0.12),
        (0.38, 0.64, 0.64, 0.64),
        (0.38, 0.5, 0.64, 0.5),
        (0.38, 0.36, 0.56, 0.36),
    ),
    (),
)
SHAPES: Dict[str, Shape] = {
    "generic": GENERIC,
    "police": (  # a shield with a star-like dot
        (
            (
                0.5,
                0.9,
                0.82,
                0.78,
                0.8,
                0.46,
                0.7,
                0.26,
                0.5,
                0.1,
                0.3,
                0.26,
                0.2,
                0.46,
                0.18,
                0.78,
                0.5,
                0.9,
            ),
        ),
        ((0.5, 0.52, 0.1),),
    ),
    "social_security": (  # two people side by side
        (
            (0.14, 0.14, 0.14, 0.34, 0.26, 0.46, 0.42, 0.46, 0.54, 0.34, 0.54, 0.14),
            (0.46, 0.14, 0.46, 0.3, 0.58, 0.42, 0.74, 0.42, 0.86, 0.3, 0.86, 0.14),
            _circle(0.34, 0.64, 0.12),
            _circle(0.66, 0.6, 0.1),
        ),
        (),
    ),
    "pension": (  # a person with a walking stick
        (
            (0.3, 0.12, 0.36, 0.44, 0.5, 0.56, 0.62, 0.44, 0.6, 0.12),
            (0.62, 0.44, 0.74, 0.34, 0.76, 0.12),
            _circle(0.48, 0.74, 0.12),
        ),
        (),
    ),
    "medical": (  # a cross in a circle
        (
            _circle(0.5, 0.5, 0.38),
            (0.5, 0.28, 0.5, 0.72),
            (0.28, 0.5, 0.72, 0.5),
        ),
        (),
    ),
    "household": (  # a house
        (
            (0.12, 0.5, 0.5, 0.86, 0.88, 0.5),
            (0.22, 0.58, 0.22, 0.14, 0.78, 0.14, 0.78, 0.58),
            (0.42, 0.14, 0.42, 0.4, 0.58, 0.4, 0.58, 0.14),
        ),
        (),
    ),
    "tax": (  # a coin with the yuan sign
        (
            _circle(0.5, 0.5, 0.38),
            (0.36, 0.7, 0.5, 0.5, 0.64, 0.7),
            (0.5, 0.5, 0.5, 0.26),
            (0.38, 0.46, 0.62, 0.46),
            (0.38, 0.36, 0.62, 0.36),
        ),
        (),
    ),
    "housing": (  # a block of flats
        (
            (0.24, 0.12, 0.24, 0.86, 0.76, 0.86, 0.76, 0.12, 0.24, 0.12),
            (0.36, 0.7, 0.44, 0.7),
            (0.56, 0.7, 0.64, 0.7),
            (0.36, 0.52, 0.44, 0.52),
            (0.56, 0.52, 0.64, 0.52),
            (0.44, 0.12, 0.44, 0.32, 0.56, 0.32, 0.56, 0.12),
        ),
        (),
    ),
    "id_card": (  # a card with a face and lines
        (
            (0.1, 0.22, 0.1, 0.78, 0.9, 0.78, 0.9, 0.22, 0.1, 0.22),
            _circle(0.32, 0.56, 0.1),
            (0.2, 0.32, 0.44, 0.32),
            (0.54, 0.6, 0.8, 0.6),
            (0.54, 0.46, 0.8, 0.46),
            (0.54, 0.32, 0.72, 0.32),
        ),
        (),
    ),
}
#: The tick of "done" and of a checked state: a real drawn check mark, not a radical sign.
TICK: Shape = (((0.2, 0.52, 0.42, 0.3, 0.82, 0.72),), ())
SHAPES["tick"] = TICK


def draw(shape: Shape, x: float, y: float, size: float, width: float) -> List[Any]:
    """Instructions drawing ``shape`` in the square at (x, y) of side ``size``."""
    strokes, dots = shape
    drawn: List[Any] = []
    for stroke in strokes:
        points = [(x if i % 2 == 0 else y) + value * size for i, value in enumerate(stroke)]
        drawn.append(Line(points=points, width=width, joint="round", cap="round"))
    for cx, cy, r in dots:
        drawn.append(
            Ellipse(pos=(x + (cx - r) * size, y + (cy - r) * size), size=(2 * r * size,) * 2)
        )
    return drawn


class Icon(Widget):
    """A named line icon in ``colour``, centred in the widget's square."""

    name = StringProperty("generic")
    colour = ListProperty(theme.PRIMARY)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        redraw: Callable[..., None] = self._draw
        self.fbind("pos", redraw)
        self.fbind("size", redraw)
        self.fbind("name", redraw)
        self.fbind("colour", redraw)
        self._draw()

    def _draw(self, *_args: Any) -> None:
        self.canvas.clear()
        side = min(self.width, self.height)
        if side <= 0:
            return
        x = self.center_x - side / 2
        y = self.center_y - side / 2
        with self.canvas:
            Color(rgba=self.colour)
        for instruction in draw(shape_of(self.name), x, y, side, max(1.2, side / 22)):
            self.canvas.add(instruction)


def shape_of(name: str) -> Shape:
    return SHAPES.get(name, GENERIC)


def names() -> Sequence[str]:
    return tuple(SHAPES)
