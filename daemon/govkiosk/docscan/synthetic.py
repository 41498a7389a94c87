"""Desks with pages of known corners, for tests, benchmarks and the camera simulator.

A page (white paper with a title, lines of text, a table and a red round seal) is laid on a
desk (wood grain, a light laminate that barely differs from paper, a dark mat with a
printed guide, grey) among clutter (pens, a phone, the edges of other papers), seen by a
camera above it: a perspective from a tilted page or camera, a page not quite flat, the
page's own drop shadow, a soft shadow over part of page and desk, uneven lighting, sensor
noise and JPEG artefacts; optionally the citizen's fingers hold an edge.

:func:`page_scene` draws one frame and returns the page's true corners; :func:`empty_desk`
the same desks with no page; :class:`DocScene` is a timeline for the camera simulator — a
desk, then a page slides in, lies still, and (optionally) slides out — deterministic from a
seed, so a test knows when the page is still and where.
"""

from __future__ import annotations

import dataclasses
import math
import random
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .quad import Quad

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[Any]  #: 8-bit, BGR or grey (OpenCV's stubs type pixels loosely)
    Floats = NDArray[Any]  #: float32

SIZE = (1920, 1080)
DESKS = ("wood", "light", "mat", "grey")
#: Paper sizes in millimetres (portrait).
A4_MM = (210.0, 297.0)
#: Page texture resolution.
PX_PER_MM = 4.0
#: Focal length of the simulated camera as a fraction of the frame width (~58° across).
FOCAL = 0.9


@dataclass(frozen=True)
class Look:
    """How one scene is drawn; :func:`look` draws one at random."""

    desk: str = "wood"
    landscape: bool = False
    fill: float = 0.75  #: the page's longer side, as a fraction of the frame height
    rotation: float = 0.0  #: in-plane turn, degrees
    tilt: Tuple[float, float] = (0.0, 0.0)  #: about the x and y axes, degrees
    centre: Tuple[float, float] = (0.5, 0.5)  #: where the page's centre goes, frame fractions
    bend: Tuple[float, float] = (0.0, 0.0)  #: bow of the sides, fractions of the page size
    shadow: float = 0.0  #: depth of the soft shadow (0: none)
    gradient: float = 0.0  #: strength of the lighting gradient
    noise: float = 2.0  #: sensor noise, grey levels (σ)
    jpeg: int = 0  #: JPEG quality the frame went through (0: none)
    fingers: int = 0  #: fingers holding an edge
    clutter: int = 3  #: objects on the desk


def look(rng: random.Random, **fixed: Any) -> Look:
    """A realistic random :class:`Look`; keyword arguments fix any of its fields."""
    drawn = Look(
        desk=rng.choice(DESKS),
        landscape=rng.random() < 0.25,
        fill=rng.uniform(0.6, 0.92),
        rotation=rng.uniform(-25.0, 25.0),
        tilt=(rng.uniform(-14.0, 14.0), rng.uniform(-14.0, 14.0)),
        centre=(rng.uniform(0.3, 0.7), rng.uniform(0.42, 0.58)),
        bend=(rng.uniform(-0.006, 0.006), rng.uniform(-0.006, 0.006)),
        shadow=rng.uniform(0.2, 0.5) if rng.random() < 0.6 else 0.0,
        gradient=rng.uniform(0.0, 0.25),
        noise=rng.uniform(1.5, 5.0),
        jpeg=rng.randrange(55, 92) if rng.random() < 0.8 else 0,
        fingers=rng.choice((0, 0, 1, 2, 3)),
        clutter=rng.randrange(0, 6),
    )
    return dataclasses.replace(drawn, **fixed)


# -- the page ----------------------------------------------------------------------------


def _word(rng: random.Random, letters: str, low: int, high: int) -> str:
    return "".join(rng.choice(letters) for _ in range(rng.randint(low, high)))


def _seal(rng: random.Random, canvas: Image, centre: Tuple[int, int], radius: int) -> None:
    """A red round seal (公章): a ring, a star, a ring of characters; multiplied in like ink."""
    stamp = np.full_like(canvas, 255)
    red = (rng.randint(30, 70), rng.randint(20, 60), rng.randint(190, 235))
    ring = max(3, radius // 14)
    cv2.circle(stamp, centre, radius, red, ring, cv2.LINE_AA)
    star = [
        (
            centre[0] + (radius * (0.28 if k % 2 else 0.11)) * math.sin(math.pi * k / 5),
            centre[1] - (radius * (0.28 if k % 2 else 0.11)) * math.cos(math.pi * k / 5),
        )
        for k in range(1, 11)
    ]
    cv2.fillPoly(stamp, [np.array(star, np.int32)], red, cv2.LINE_AA)
    glyph = max(2, radius // 9)
    for k in range(14):  # the unit's name around the rim
        angle = math.pi * (0.85 + 1.3 * k / 13)
        x = centre[0] + 0.74 * radius * math.cos(angle)
        y = centre[1] + 0.74 * radius * math.sin(angle)
        box = cv2.boxPoints(((x, y), (glyph * 2.2, glyph * 2.6), math.degrees(angle) + 90))
        cv2.polylines(stamp, [box.astype(np.int32)], True, red, max(2, glyph // 3), cv2.LINE_AA)
    cv2.line(
        stamp,
        (centre[0] - radius // 2, centre[1] + radius // 2),
        (centre[0] + radius // 2, centre[1] + radius // 2),
        red,
        max(2, glyph // 2),
        cv2.LINE_AA,
    )
    canvas[:] = (canvas.astype(np.uint16) * stamp // 255).astype(np.uint8)


def page_image(rng: random.Random, landscape: bool = False, px_per_mm: float = PX_PER_MM) -> Image:
    """An A4 page: title, paragraphs, a table and a red seal on slightly tinted paper."""
    w_mm, h_mm = A4_MM[::-1] if landscape else A4_MM
    width, height = round(w_mm * px_per_mm), round(h_mm * px_per_mm)
    tint = [rng.randint(236, 250), rng.randint(240, 252), rng.randint(242, 253)]
    page = np.empty((height, width, 3), np.uint8)
    page[:] = tint
    ink = (rng.randint(20, 60),) * 3
    margin = round(20 * px_per_mm)
    scale = px_per_mm / 5.2
    y = margin + round(12 * px_per_mm)
    title = " ".join(_word(rng, string.ascii_uppercase, 3, 7) for _ in range(rng.randint(2, 3)))
    (tw, th), _ = cv2.getTextSize(title, cv2.FONT_HERSHEY_DUPLEX, 1.6 * scale, 3)
    cv2.putText(
        page,
        title,
        ((width - tw) // 2, y),
        cv2.FONT_HERSHEY_DUPLEX,
        1.6 * scale,
        ink,
        max(2, round(2.5 * scale)),
        cv2.LINE_AA,
    )
    y += th + round(10 * px_per_mm)
    line_gap = round(7 * px_per_mm)
    table_at = rng.randint(4, 9)
    row = 0
    while y < height - margin - round(45 * px_per_mm):
        if row == table_at:
            y = _table(
                rng,
                page,
                (margin, y),
                width - 2 * margin,
                ink=ink,
                scale=scale,
                px_per_mm=px_per_mm,
            )
        else:
            x = margin + (round(8 * px_per_mm) if row % 5 == 0 else 0)
            right = width - margin - (rng.randint(0, width // 3) if row % 5 == 4 else 0)
            while True:
                word = _word(rng, string.ascii_lowercase, 2, 9)
                (ww, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale, 2)
                if x + ww > right:
                    break
                cv2.putText(
                    page,
                    word,
                    (x, y),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.9 * scale,
                    ink,
                    max(1, round(1.4 * scale)),
                    cv2.LINE_AA,
                )
                x += ww + round(2.2 * px_per_mm)
            y += line_gap
        row += 1
    radius = round(21 * px_per_mm)
    centre = (
        width - margin - radius - rng.randint(0, round(25 * px_per_mm)),
        height - margin - radius - rng.randint(0, round(10 * px_per_mm)),
    )
    _seal(rng, page, centre, radius)
    return page


def _table(
    rng: random.Random,
    page: Image,
    origin: Tuple[int, int],
    width: int,
    *,
    ink: Tuple[int, ...],
    scale: float,
    px_per_mm: float,
) -> int:
    rows, cols = rng.randint(3, 5), rng.randint(3, 4)
    cell_h = round(9 * px_per_mm)
    x0, y0 = origin[0], origin[1] - round(5 * px_per_mm)
    thickness = max(1, round(px_per_mm / 3))
    for r in range(rows + 1):
        cv2.line(page, (x0, y0 + r * cell_h), (x0 + width, y0 + r * cell_h), ink, thickness)
    for c in range(cols + 1):
        x = x0 + c * width // cols
        cv2.line(page, (x, y0), (x, y0 + rows * cell_h), ink, thickness)
    for r in range(rows):
        for c in range(cols):
            cv2.putText(
                page,
                _word(rng, string.ascii_letters + string.digits, 3, 8),
                (x0 + c * width // cols + round(2 * px_per_mm), y0 + r * cell_h + cell_h * 2 // 3),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.8 * scale,
                ink,
                max(1, round(1.2 * scale)),
                cv2.LINE_AA,
            )
    return y0 + rows * cell_h + round(12 * px_per_mm)


# -- the desk ----------------------------------------------------------------------------


def _smooth_noise(gen: np.random.Generator, size: Tuple[int, int], cells: int) -> Floats:
    """Smooth random field in about [-1, 1]: coarse noise scaled up."""
    width, height = size
    coarse = gen.standard_normal((max(2, cells * height // width), cells)).astype(np.float32)
    field: Floats = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return field


def _grid(size: Tuple[int, int], step: int) -> Tuple[Floats, Floats]:
    """Frame coordinates (x, y) of a grid ``step`` times coarser than the frame: fields
    computed on it and scaled up by :func:`_full` line up with the frame's pixels."""
    width, height = size
    xs = (np.arange(-(-width // step), dtype=np.float32) + 0.5) * step - 0.5
    ys = (np.arange(-(-height // step), dtype=np.float32) + 0.5) * step - 0.5
    return xs[None, :], ys[:, None]


def _full(field: Floats, size: Tuple[int, int], step: int) -> Floats:
    """A field computed on :func:`_grid` brought to frame size."""
    width, height = size
    big: Floats = cv2.resize(
        field, (field.shape[1] * step, field.shape[0] * step), interpolation=cv2.INTER_LINEAR
    )
    return big[:height, :width]


def desk_image(
    rng: random.Random, size: Tuple[int, int] = SIZE, kind: Optional[str] = None
) -> Image:
    """An empty desk of ``kind`` (one of :data:`DESKS`, random when None)."""
    out: Image = np.clip(_desk(rng, size, kind), 0, 255).astype(np.uint8)
    return out


def _desk(rng: random.Random, size: Tuple[int, int], kind: Optional[str]) -> Floats:
    """:func:`desk_image` in float32, as the scenes compose it."""
    kind = kind or rng.choice(DESKS)
    width, height = size
    gen = np.random.default_rng(rng.getrandbits(32))
    half = (-(-width // 2), -(-height // 2))
    if kind == "wood":  # grain drawn at half resolution: its period is ≥ 9 px
        base = np.array([rng.uniform(50, 90), rng.uniform(95, 130), rng.uniform(140, 185)])
        angle = rng.uniform(-0.3, 0.3) + (math.pi / 2 if rng.random() < 0.5 else 0.0)
        xs, ys = _grid(size, 2)
        across = xs * math.sin(angle) + ys * math.cos(angle)
        warp = 25.0 * _smooth_noise(gen, half, 6)
        period = rng.uniform(9.0, 18.0)
        grain = np.sin((across + warp) * (2 * math.pi / period))
        rings = np.sin((across + 3 * warp) * (2 * math.pi / (period * 7.3)))
        shade = 1.0 + 0.08 * grain + 0.1 * rings + 0.06 * _smooth_noise(gen, half, 4)
        colour = base
    else:
        level = {
            "light": rng.uniform(188, 212),
            "mat": rng.uniform(28, 55),
            "grey": rng.uniform(105, 150),
        }[kind]
        colour = level + np.array([rng.uniform(-6, 4), rng.uniform(-3, 3), rng.uniform(-2, 8)])
        speckle = _normal(rng, (half[1], half[0]), 1.0)
        shade = 1.0 + 0.03 * speckle + 0.03 * _smooth_noise(gen, half, 5)
    desk: Floats = _full(shade.astype(np.float32), size, 2)[:, :, None] * colour.astype(np.float32)
    if kind == "mat":  # the printed A4 guide and ruler of a document camera's pad
        guide = (rng.randint(90, 140),) * 3
        gw, gh = round(height * 0.62 / math.sqrt(2)), round(height * 0.62)
        x0, y0 = width // 2 - gw // 2, height // 2 - gh // 2
        cv2.rectangle(desk, (x0, y0), (x0 + gw, y0 + gh), guide, 2, cv2.LINE_AA)
        for k in range(0, width, max(8, width // 96)):
            cv2.line(desk, (k, height - 10), (k, height - (22 if k % 5 == 0 else 16)), guide, 1)
    return desk


def _clutter(
    rng: random.Random, frame: Floats, keep_clear: Image, count: int, border_papers: bool
) -> None:
    """Pens, a phone and edges of other papers, where ``keep_clear`` is zero."""
    height, width = frame.shape[:2]
    unit = height / 300.0  # about a millimetre at this scale
    shapes: List[Tuple[str, NDArray[np.int32], Tuple[int, int, int], float]] = []
    for _ in range(count):
        kind = rng.choice(("pen", "pen", "phone", "paper" if border_papers else "pen"))
        angle = 0.0
        if kind == "paper":  # the edge of another sheet, partly outside the frame
            side = rng.choice(("left", "right", "top", "bottom"))
            long_, short = 297 * unit, 210 * unit
            out = rng.uniform(0.45, 0.8)
            cx = {"left": -short * out + short / 2, "right": width + short * out - short / 2}
            cy = {"top": -short * out + short / 2, "bottom": height + short * out - short / 2}
            centre = (
                cx.get(side, rng.uniform(0, width)),
                cy.get(side, rng.uniform(0, height)),
            )
            dims = (short, long_) if side in ("left", "right") else (long_, short)
            box = cv2.boxPoints((centre, dims, rng.uniform(-12, 12)))
            shade = rng.randint(215, 245)
            colour = (shade, shade + rng.randint(-4, 4), shade + rng.randint(-3, 6))
        elif kind == "pen":
            length, thick = rng.uniform(120, 150) * unit, rng.uniform(7, 10) * unit
            centre = (rng.uniform(0, width), rng.uniform(0, height))
            angle = rng.uniform(0, 180)
            box = cv2.boxPoints((centre, (length, thick), angle))
            colour = rng.choice(((140, 60, 20), (30, 30, 30), (40, 40, 190), (200, 200, 200)))
        else:
            centre = (rng.uniform(0, width), rng.uniform(0, height))
            box = cv2.boxPoints((centre, (72 * unit, 150 * unit), rng.uniform(0, 180)))
            colour = (rng.randint(15, 40),) * 3
        polygon = np.round(box).astype(np.int32)
        mask = np.zeros(keep_clear.shape, np.uint8)
        cv2.fillConvexPoly(mask, polygon, (255,))
        if kind != "paper" and not mask.any():
            continue
        if (mask & keep_clear).any():
            continue
        shapes.append((kind, polygon, tuple(int(c) for c in colour), angle))  # type: ignore[arg-type]
    for kind, polygon, colour, angle in shapes:
        cv2.fillConvexPoly(frame, polygon, colour, cv2.LINE_AA)
        if kind == "phone":  # a glossy screen inside the body
            centre = polygon.mean(axis=0)
            screen = np.round(centre + (polygon - centre) * 0.86).astype(np.int32)
            cv2.fillConvexPoly(frame, screen, (70, 55, 45), cv2.LINE_AA)
        elif kind == "pen":  # a cap over one end
            centre = polygon.mean(axis=0)
            axis = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
            reach = float(np.abs((polygon - centre) @ axis).max())
            end = centre + axis * reach
            cv2.line(
                frame,
                tuple(np.round(end).astype(int)),
                tuple(np.round(end - axis * reach * 0.35).astype(int)),
                (225, 225, 225) if colour[0] < 150 else (30, 30, 30),
                max(3, round(11 * unit)),
                cv2.LINE_AA,
            )


# -- the camera ----------------------------------------------------------------------------


def _rotation(tilt_x: float, tilt_y: float, turn: float) -> NDArray[np.float64]:
    ax, ay, az = (math.radians(a) for a in (tilt_x, tilt_y, turn))
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    return rx @ ry @ rz  # type: ignore[no-any-return]


def _project(
    look_: Look, page_mm: Tuple[float, float], size: Tuple[int, int]
) -> NDArray[np.float64]:
    """Where the page's corners (clockwise from top-left) land in the frame."""
    width, height = size
    w_mm, h_mm = page_mm
    focal = FOCAL * width
    rotation = _rotation(look_.tilt[0], look_.tilt[1], look_.rotation)
    corners = np.array(
        [[-w_mm / 2, -h_mm / 2, 0], [w_mm / 2, -h_mm / 2, 0], [w_mm / 2, h_mm / 2, 0],
         [-w_mm / 2, h_mm / 2, 0]]
    )  # fmt: skip
    distance = focal * max(w_mm, h_mm) / (look_.fill * height)
    cx, cy = look_.centre[0] * width, look_.centre[1] * height
    shift = np.array([(cx - width / 2) * distance / focal, (cy - height / 2) * distance / focal])
    placed = corners @ rotation.T + np.array([shift[0], shift[1], distance])
    return np.stack(
        [
            focal * placed[:, 0] / placed[:, 2] + width / 2 - 0.5,
            focal * placed[:, 1] / placed[:, 2] + height / 2 - 0.5,
        ],
        axis=1,
    )


def _inside(points: NDArray[np.float64], size: Tuple[int, int], margin: float) -> bool:
    width, height = size
    return bool(
        (points[:, 0] >= margin).all()
        and (points[:, 0] <= width - 1 - margin).all()
        and (points[:, 1] >= margin).all()
        and (points[:, 1] <= height - 1 - margin).all()
    )


def _fit(look_: Look, page_mm: Tuple[float, float], size: Tuple[int, int]) -> Look:
    """The look with its page shrunk and moved until the page lies inside the frame."""
    margin = 0.03 * size[1]
    current = look_
    for _ in range(60):
        if _inside(_project(current, page_mm, size), size, margin):
            return current
        cx, cy = current.centre
        current = dataclasses.replace(
            current,
            fill=current.fill * 0.97,
            centre=(0.5 + (cx - 0.5) * 0.9, 0.5 + (cy - 0.5) * 0.9),
        )
    return current


def _bent(page: Image, bend: Tuple[float, float], margin: int) -> Tuple[Image, Image]:
    """The page on a canvas with ``margin`` around it, its sides bowed by ``bend`` (the
    corners stay put), and its coverage mask."""
    height, width = page.shape[:2]
    canvas = cv2.copyMakeBorder(page, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
    cover = np.zeros(canvas.shape[:2], np.uint8)
    cover[margin : margin + height, margin : margin + width] = 255
    if bend == (0.0, 0.0):
        return canvas, cover
    xs = np.arange(canvas.shape[1], dtype=np.float32)[None, :]
    ys = np.arange(canvas.shape[0], dtype=np.float32)[:, None]
    u = np.clip((xs - margin + 0.5) / width, 0, 1)
    v = np.clip((ys - margin + 0.5) / height, 0, 1)
    dy = bend[0] * height * np.sin(np.pi * u)  # top and bottom sides bow
    dx = bend[1] * width * np.sin(np.pi * v)  # left and right sides bow
    shape = canvas.shape[:2]
    map_x = np.broadcast_to(xs - dx, shape).astype(np.float32)
    map_y = np.broadcast_to(ys - dy, shape).astype(np.float32)
    bent_page = cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    bent_cover = cv2.remap(cover, map_x, map_y, cv2.INTER_LINEAR)
    return bent_page, bent_cover


def _lighting(rng: random.Random, look_: Look, size: Tuple[int, int], across: Quad) -> Floats:
    """Multiplicative light: a gradient, a vignette and a soft shadow crossing the page
    (smooth, so computed on a coarse grid)."""
    width, height = size
    step = 4
    xs, ys = _grid(size, step)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = ((xs - width / 2) * math.cos(angle) + (ys - height / 2) * math.sin(angle)) / width
    light = 1.0 + look_.gradient * ramp * 1.6
    radius = ((xs - width / 2) ** 2 + (ys - height / 2) ** 2) / (width**2 / 4 + height**2 / 4)
    light = light * (1.0 - 0.12 * radius)
    if look_.shadow > 0:  # a head or an arm between the lamp and the desk
        centre = np.array(across.points()).mean(axis=0)
        normal = rng.uniform(0, 2 * math.pi)
        offset = rng.uniform(-0.25, 0.25) * across.diagonal
        signed = (xs - centre[0]) * math.cos(normal) + (ys - centre[1]) * math.sin(normal) - offset
        softness = rng.uniform(0.04, 0.15) * across.diagonal
        light = light * (1.0 - look_.shadow * 0.5 * (1.0 + np.tanh(signed / softness * 2)))
    return _full(light.astype(np.float32), size, step)


def _fingers(rng: random.Random, frame: Floats, quad: Quad, count: int) -> None:
    """``count`` fingers holding one side of the page from outside."""
    if count <= 0:
        return
    points = quad.points()
    side = rng.randrange(4)
    a, b = points[side], points[(side + 1) % 4]
    along = b - a
    length = float(np.hypot(*along))
    inward = np.array([-along[1], along[0]]) / length  # clockwise outline: right-hand normal
    unit = quad.diagonal / 364.0  # ≈ a millimetre on an A4 page
    width = rng.uniform(15, 19) * unit
    start = rng.uniform(0.1, 0.9 - 0.06 * count)
    red = rng.uniform(185, 230)
    skin = np.array([red * rng.uniform(0.55, 0.7), red * rng.uniform(0.72, 0.82), red])
    for k in range(count):
        at = a + along * (start + k * width * 1.05 / length)
        tip = at + inward * rng.uniform(8, 22) * unit + along / length * rng.uniform(-3, 3) * unit
        base = at - inward * rng.uniform(45, 80) * unit
        tone = rng.uniform(0.9, 1.05)
        colour = tuple(float(c) * tone for c in skin)
        thickness = max(3, round(width))
        cv2.line(
            frame,
            tuple(np.round(base).astype(int)),
            tuple(np.round(tip).astype(int)),
            colour,
            thickness,
            cv2.LINE_AA,
        )
        nail = tip - inward * width * 0.45
        cv2.circle(
            frame,
            tuple(np.round(nail).astype(int)),
            max(2, round(width * 0.28)),
            tuple(min(255.0, c * 1.15) for c in colour),
            -1,
            cv2.LINE_AA,
        )


def _normal(rng: random.Random, shape: Tuple[int, int], sigma: float) -> Floats:
    """Gaussian noise from ``rng``'s next seed (OpenCV's generator: several times faster
    than numpy's for a frame; it is the calling thread's own)."""
    noise: Floats = np.empty(shape, np.float32)
    cv2.setRNGSeed(rng.getrandbits(31))
    cv2.randn(noise, np.zeros(1), np.full(1, sigma))
    return noise


def _camera(rng: random.Random, frame: Floats, look_: Look) -> Image:
    """Sensor noise and the camera's JPEG compression."""
    frame += _normal(rng, (frame.shape[0], frame.shape[1]), look_.noise)[:, :, None]
    out: Image = np.clip(frame, 0, 255, out=frame).astype(np.uint8)
    if look_.jpeg:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, look_.jpeg])
        if ok:
            out = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return out


@dataclass(frozen=True)
class _Layer:
    """The page warped into the part of the frame it covers (with room for its drop
    shadow): its pixels, its coverage (0..1) and where that part starts."""

    page: Floats
    alpha: Floats
    at: Tuple[int, int]
    reach: float  #: the drop shadow's scale: about a millimetre, in pixels


def _source(margin: int, width: int, height: int) -> NDArray[Any]:
    """The page's corners on its canvas, pixel-centre coordinates."""
    low, right, bottom = margin - 0.5, margin + width - 0.5, margin + height - 0.5
    return np.array([[low, low], [right, low], [right, bottom], [low, bottom]], np.float32)


def _warp(
    canvas: Image, cover: Image, homography: NDArray[Any], size: Tuple[int, int]
) -> Optional[_Layer]:
    """The canvas seen through ``homography`` in the frame, computed only where it lands."""
    width, height = size
    rim = np.array(
        [[0, 0], [canvas.shape[1], 0], [canvas.shape[1], canvas.shape[0]], [0, canvas.shape[0]]],
        np.float32,
    )
    landed = cv2.perspectiveTransform(rim[None], homography)[0]
    reach = max(1.0, height / 300.0)
    pad = math.ceil(14 * reach)
    x0 = max(0, math.floor(landed[:, 0].min()) - pad)
    y0 = max(0, math.floor(landed[:, 1].min()) - pad)
    x1 = min(width, math.ceil(landed[:, 0].max()) + pad)
    y1 = min(height, math.ceil(landed[:, 1].max()) + pad)
    if x1 <= x0 or y1 <= y0:
        return None
    moved = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ homography
    box = (x1 - x0, y1 - y0)
    page = cv2.warpPerspective(canvas, moved, box, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(cover, moved, box, flags=cv2.INTER_LINEAR)
    return _Layer(page.astype(np.float32), alpha.astype(np.float32) / 255.0, (x0, y0), reach)


def _compose(frame: Floats, layer: _Layer, at: Tuple[int, int] = (0, 0)) -> None:
    """The page laid on the desk in ``frame`` (whose top-left is at ``at`` in the whole
    frame), with its soft drop shadow on the desk."""
    x0, y0 = layer.at[0] - at[0], layer.at[1] - at[1]
    h, w = layer.alpha.shape
    reach = layer.reach
    dx, dy = round(1.0 * reach), round(1.5 * reach)
    blurred = cv2.GaussianBlur(layer.alpha, (0, 0), 2.5 * reach)
    drop = np.zeros_like(blurred)
    # A sliver of page (fewer rows or columns than the shadow's offset) casts none in it.
    drop[dy:, dx:] = blurred[: max(h - dy, 0), : max(w - dx, 0)]
    region = frame[y0 : y0 + h, x0 : x0 + w]
    a = layer.alpha[:, :, None]
    region *= (1.0 - 0.18 * drop)[:, :, None] * (1.0 - a)
    region += layer.page * a


def _page_layer(
    rng: random.Random, look_: Look, size: Tuple[int, int]
) -> Tuple[Optional[_Layer], Quad]:
    """The warped page and its true corners."""
    page = page_image(rng, look_.landscape)
    height, width = page.shape[:2]
    page_mm = (width / PX_PER_MM, height / PX_PER_MM)
    corners = _project(look_, page_mm, size)
    margin = round(0.02 * max(width, height)) + 2
    canvas, cover = _bent(page, look_.bend, margin)
    homography = cv2.getPerspectiveTransform(
        _source(margin, width, height), corners.astype(np.float32)
    )
    return _warp(canvas, cover, homography, size), Quad.from_points(corners)


def page_scene(
    rng: random.Random, size: Tuple[int, int] = SIZE, **fixed: Any
) -> Tuple[Image, Quad]:
    """A BGR frame of a page on a desk and the page's true corners.

    The scene's :class:`Look` is drawn from ``rng``; keyword arguments fix its fields
    (``desk="light"``, ``fingers=2``, ``shadow=0.0`` …).
    """
    look_ = look(rng, **fixed)
    page_mm = A4_MM[::-1] if look_.landscape else A4_MM
    look_ = _fit(look_, page_mm, size)
    layer, quad = _page_layer(rng, look_, size)
    frame = _desk(rng, size, look_.desk)
    keep_clear: Image = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(keep_clear, np.round(quad.points()).astype(np.int32), (255,))
    keep_clear = cv2.dilate(keep_clear, np.ones((41, 41), np.uint8))
    _clutter(rng, frame, keep_clear, look_.clutter, border_papers=True)
    if layer is not None:
        _compose(frame, layer)
    _fingers(rng, frame, quad, look_.fingers)
    frame *= _lighting(rng, look_, size, quad)[:, :, None]
    return _camera(rng, frame, look_), quad


def empty_desk(rng: random.Random, size: Tuple[int, int] = SIZE, **fixed: Any) -> Image:
    """A desk with clutter, shadows and lighting like :func:`page_scene`'s, and no page."""
    look_ = look(rng, **fixed)
    frame = _desk(rng, size, look_.desk)
    _clutter(rng, frame, np.zeros(frame.shape[:2], np.uint8), max(2, look_.clutter), True)
    width, height = size
    middle = Quad((width * 0.3, height * 0.2), (width * 0.7, height * 0.2),
                  (width * 0.7, height * 0.8), (width * 0.3, height * 0.8))  # fmt: skip
    frame *= _lighting(rng, look_, size, middle)[:, :, None]
    return _camera(rng, frame, look_)


# -- a page placed on the desk, over time ----------------------------------------------------


class DocScene:
    """What the document camera sees over time: ``scene(t)`` is the BGR frame at ``t`` s.

    The desk is empty until ``arrive``; the page then slides in from the bottom of the
    frame for ``slide`` seconds (slowing as it settles), lies still from
    :attr:`still_from` until ``leave`` and slides out the same way; ``leave=None`` keeps
    it. Deterministic from ``seed``: the same ``t`` gives the same frame; sensor noise
    changes from frame to frame (a few noise fields cycle by ``t``). The page lies flat,
    without fingers or JPEG (a camera stream's frames are raw); keyword arguments fix the
    other fields of its :class:`Look` (``desk="mat"`` …).
    """

    NOISE_FIELDS = 4

    def __init__(
        self,
        seed: int,
        size: Tuple[int, int] = SIZE,
        *,
        arrive: float = 1.0,
        slide: float = 1.0,
        leave: Optional[float] = 6.0,
        fps: float = 15.0,
        **fixed: Any,
    ) -> None:
        if slide <= 0 or fps <= 0:
            raise ValueError("slide and fps must be > 0")
        if leave is not None and leave < arrive + slide:
            raise ValueError("the page must have arrived before it leaves")
        rng = random.Random(seed)
        self.size = size
        self.arrive, self.slide, self.leave, self.fps = arrive, slide, leave, fps
        drawn = look(rng, **fixed)
        page_mm = A4_MM[::-1] if drawn.landscape else A4_MM
        self.look = _fit(drawn, page_mm, size)
        page = page_image(rng, self.look.landscape)
        height, width = page.shape[:2]
        margin = 4
        self._canvas, self._cover = _bent(page, (0.0, 0.0), margin)
        corners = _project(self.look, page_mm, size)
        self.quad = Quad.from_points(corners)  #: where the page lies while still
        self._homography = cv2.getPerspectiveTransform(
            _source(margin, width, height), corners.astype(np.float32)
        )
        self._desk = _desk(rng, size, self.look.desk)
        keep_clear: Image = np.zeros(self._desk.shape[:2], np.uint8)
        hull = np.round(corners).astype(np.int32)
        travel = np.array([0, size[1]])  # the page slides in from below: keep its path clear
        cv2.fillConvexPoly(keep_clear, cv2.convexHull(np.vstack([hull, hull + travel])), (255,))
        keep_clear = cv2.dilate(keep_clear, np.ones((41, 41), np.uint8))
        _clutter(rng, self._desk, keep_clear, self.look.clutter, border_papers=False)
        self._light = _lighting(rng, self.look, size, self.quad)[:, :, None]
        self._noise = [
            _normal(rng, (size[1], size[0]), self.look.noise)[:, :, None]
            for _ in range(self.NOISE_FIELDS)
        ]
        lit = self._desk * self._light
        #: the empty desk as each noise field shows it; a frame redraws only the page's part
        self._empty = [np.clip(lit + noise, 0, 255).astype(np.uint8) for noise in self._noise]

    @property
    def still_from(self) -> float:
        return self.arrive + self.slide

    def offset(self, t: float) -> Optional[float]:
        """How far (px) below its resting place the page is at ``t``; None when off the desk."""
        height = self.size[1]
        if t < self.arrive or (self.leave is not None and t >= self.leave + self.slide):
            return None
        if t < self.still_from:
            remaining = 1.0 - (t - self.arrive) / self.slide
            return float(height * remaining**2)  # eases into place
        if self.leave is not None and t >= self.leave:
            gone = (t - self.leave) / self.slide
            return float(height * gone**2)
        return 0.0

    def quad_at(self, t: float) -> Optional[Quad]:
        """The page's corners at ``t`` when the whole page is in the frame, else None."""
        offset = self.offset(t)
        if offset is None:
            return None
        points = self.quad.points() + np.array([0.0, offset])
        return Quad.from_points(points) if _inside(points, self.size, 0.0) else None

    def __call__(self, t: float) -> Image:
        noise = math.floor(t * self.fps) % self.NOISE_FIELDS
        out: Image = self._empty[noise].copy()
        offset = self.offset(t)
        if offset is None:
            return out
        shift = np.array([[1, 0, 0], [0, 1, offset], [0, 0, 1]], np.float64)
        layer = _warp(self._canvas, self._cover, shift @ self._homography, self.size)
        if layer is None:
            return out
        x0, y0 = layer.at
        h, w = layer.alpha.shape
        part = (slice(y0, y0 + h), slice(x0, x0 + w))
        region = self._desk[part].copy()
        _compose(region, layer, layer.at)
        region *= self._light[part]
        region += self._noise[noise][part]
        out[part] = np.clip(region, 0, 255).astype(np.uint8)
        return out


def scenes(seed: int, count: int, size: Tuple[int, int] = SIZE) -> Sequence[Tuple[Image, Quad]]:
    """``count`` page scenes from one seed (tests and the benchmark share the recipe)."""
    rng = random.Random(seed)
    return [page_scene(rng, size) for _ in range(count)]
