"""What a simulated binocular face camera sees: one scene, an RGB and an IR frame per instant.

A binocular module (双目摄像头, §6.2 d) pairs a colour camera with a near-infrared one lit by
its own IR illuminator. The two see the world differently, and that difference is what
liveness checks read:

- ``live``: a person. Both frames show the face at the same place; it drifts, sways and
  breathes a few pixels a second (nobody holds perfectly still); the IR face has skin
  texture and shading, the background is dark (the illuminator lights what is near).
- ``photo``: a printed photo held on a stand. The RGB face is perfectly still; in IR the
  print is flat: little contrast, no fine texture.
- ``screen``: a phone or monitor replaying a video of the face. The RGB face moves like a
  live one; a screen emits no infrared, so the IR frame shows only a dark panel.
- ``nobody``: the hall behind the kiosk.

:func:`render` draws one instant of a scene. It is pure (time and randomness passed in):
the camera simulator streams it, and tests and benchmarks draw frames from it directly.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Tuple

import cv2
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

SCENARIOS = ("live", "photo", "screen", "nobody")

#: Frame size of the simulated face cameras (width, height).
SIZE = (640, 480)
#: The subject's face is this high in the frame (px), centred a little above the middle:
#: a person standing at the kiosk with the face in the guide.
FACE_HEIGHT = 200
#: Sensor noise, grey levels (σ).
NOISE = 2.0
#: Noise is cut from a few precomputed fields at random offsets: drawing a fresh Gaussian
#: field for every frame costs more than the rest of the frame (25 ms at 640×480).
NOISE_FIELDS = 4
NOISE_MARGIN = 32


@dataclass(frozen=True)
class FaceScene:
    scenario: str
    face: Image  #: BGR photo of the subject
    box: Tuple[int, int, int, int]  #: where the face is in the photo: x, y, width, height
    size: Tuple[int, int] = SIZE

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario {self.scenario!r} is not one of {', '.join(SCENARIOS)}")


def _background(size: Tuple[int, int]) -> Image:
    """A hall wall: a soft vertical gradient (a fresh copy: callers draw on it)."""
    out: Image = _wall(size).copy()
    return out


@functools.lru_cache(maxsize=4)
def _wall(size: Tuple[int, int]) -> Image:
    width, height = size
    column = np.linspace(150, 110, height, dtype=np.float32)[:, None]
    wall = np.repeat(column, width, axis=1)
    return np.asarray(cv2.merge([wall, wall + 6, wall + 12]), dtype=np.uint8)


def _sway(t: float) -> Tuple[float, float, float, float]:
    """A standing person's drift: dx, dy (px), scale, angle (degrees), smooth in ``t``."""
    dx = 4.0 * math.sin(2 * math.pi * 0.37 * t) + 1.5 * math.sin(2 * math.pi * 1.3 * t + 1.0)
    dy = 3.0 * math.sin(2 * math.pi * 0.23 * t + 0.5) + 1.0 * math.sin(2 * math.pi * 1.7 * t)
    scale = 1.0 + 0.012 * math.sin(2 * math.pi * 0.25 * t)  # breathing, leaning in
    angle = 1.2 * math.sin(2 * math.pi * 0.31 * t + 2.0)
    return dx, dy, scale, angle


def _placed(scene: FaceScene, motion: Tuple[float, float, float, float]) -> Tuple[Image, Image]:
    """The photo scaled so its face is :data:`FACE_HEIGHT` high and centred, moved by
    ``motion``; with the mask of where the photo lands."""
    width, height = scene.size
    x, y, w, h = scene.box
    dx, dy, scale, angle = motion
    zoom = FACE_HEIGHT / h * scale
    matrix = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), angle, zoom)
    matrix[0, 2] += width / 2 + dx - (x + w / 2)
    matrix[1, 2] += height * 0.45 + dy - (y + h / 2)
    subject = cv2.warpAffine(scene.face, matrix, scene.size, flags=cv2.INTER_LINEAR)
    whole = np.full(scene.face.shape[:2], 255, np.uint8)
    mask = cv2.warpAffine(whole, matrix, scene.size, flags=cv2.INTER_NEAREST)
    return np.asarray(subject, dtype=np.uint8), np.asarray(mask, dtype=np.uint8)


def _noisy(image: Image, rng: random.Random) -> Image:
    """``image`` with sensor noise: a window of a precomputed field at a random offset."""
    height, width = image.shape[:2]
    fields = _noise_fields(image.shape)
    field = fields[rng.randrange(len(fields))]
    dy, dx = rng.randrange(NOISE_MARGIN), rng.randrange(NOISE_MARGIN)
    window = field[dy : dy + height, dx : dx + width]
    # Different depths: cv2.add saturates into the output depth, as a sensor clips.
    return np.asarray(cv2.add(image, window, dtype=cv2.CV_8U), dtype=np.uint8)


@functools.lru_cache(maxsize=8)
def _noise_fields(shape: Tuple[int, ...]) -> Tuple[NDArray[np.int8], ...]:
    """Gaussian noise fields a little larger than ``shape``; the same for every run."""
    generator = np.random.default_rng(len(shape))
    padded = (shape[0] + NOISE_MARGIN, shape[1] + NOISE_MARGIN, *shape[2:])
    return tuple(
        np.clip(np.round(generator.normal(0.0, NOISE, padded)), -127, 127).astype(np.int8)
        for _ in range(NOISE_FIELDS)
    )


def _ir_of_skin(subject: Image) -> Image:
    """A lit face in near infrared: grey, bright, with its texture and shading kept."""
    grey = cv2.cvtColor(subject, cv2.COLOR_BGR2GRAY)
    return np.asarray(cv2.convertScaleAbs(grey, alpha=1.1, beta=25), dtype=np.uint8)


def _ir_of_print(subject: Image) -> Image:
    """A printed photo in near infrared: inks reflect IR alike; flat, soft, low contrast."""
    grey = cv2.cvtColor(subject, cv2.COLOR_BGR2GRAY).astype(np.float32)
    soft = cv2.GaussianBlur(grey, (0, 0), 3.0)
    flat = soft.mean() + 0.3 * (soft - soft.mean())
    out: Image = np.clip(flat + 40, 0, 255).astype(np.uint8)
    return out


def render(scene: FaceScene, t: float, rng: random.Random) -> Tuple[Image, Image]:
    """The RGB (BGR order, as OpenCV) and IR (grey) frames of ``scene`` at ``t`` seconds."""
    width, height = scene.size
    rgb = _background(scene.size)
    ir = np.full((height, width), 18, np.uint8)
    if scene.scenario != "nobody":
        still = scene.scenario == "photo"
        motion = (0.0, 0.0, 1.0, 0.0) if still else _sway(t)
        subject, mask = _placed(scene, motion)
        cv2.copyTo(subject, mask, rgb)
        if scene.scenario == "live":
            cv2.copyTo(_ir_of_skin(subject), mask, ir)
        elif scene.scenario == "photo":
            cv2.copyTo(_ir_of_print(subject), mask, ir)
        else:  # a screen: a dark panel where the face is
            ir[mask > 0] = 10
    return _noisy(rgb, rng), _noisy(ir, rng)
