"""Liveness (presentation-attack detection): pure functions over arrays.

**Binocular** (a colour camera paired with a near-infrared one lit by its own
illuminator, §6.2 d). Three signs of a live face, each read where the colour camera
found the face:

1. *The IR camera sees a face there.* A screen (phone, tablet, monitor) emits no
   infrared: in IR the replayed face is not there. The IR frame around the colour face
   box (grown by :data:`IR_MARGIN` each side: the two lenses sit apart, so the faces do
   not line up exactly) is searched with the face detector.
2. *The IR face has texture.* Skin under the illuminator keeps eyes, brows, nostrils and
   hair in IR; a print reflects IR nearly evenly (most inks are transparent to it), so a
   printed face is flat: little mid-frequency energy. :func:`texture_ratio` compares the
   band-pass energy of the IR face with that of the colour face at the same place,
   which cancels how much texture the person's face has in the first place.
3. *It moves a little.* Nobody holds perfectly still for a second: breathing and sway
   move a standing person's face by pixels; a photo on a stand does not move at all.
   :func:`shift` measures, by phase correlation of the face region against the first
   frame of the window, how far the face moved, as a share of its width — sub-pixel, and
   blind to sensor noise, unlike landmarks (integer pixels, and they jitter with the
   detector's box).

The reasons: no face in IR → ``not_live.screen`` (or ``not_live.print`` when the region
is lit but featureless: IR-transparent inks show blank paper); a flat IR face →
``not_live.print``; no movement → ``not_live.still``.

**Challenge** (no IR camera): the citizen is asked to turn the head to the left or right
(the nose tip moves sideways against the eyes' corners: the 5 landmarks) or, where the
68-point model may be used, to blink (the eye aspect ratio drops and recovers).
:class:`Challenge` follows one request.

The thresholds and their margins, measured on the simulator
(``govkiosk.devices.camera.scenes``) and chosen so they do not rest on what only it does
(its screen's exact grey level, its print's exact blur), are set out by each constant;
docs/face.md says what this resists and what it does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .settings import CHALLENGES

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]
    Points = NDArray[np.float64]
    Patch = NDArray[np.float32]

Box = Tuple[int, int, int, int]  #: x, y, width, height

#: The IR search region: the colour box grown by this share of its size on each side
#: (binocular modules are calibrated to overlap; their residual parallax at kiosk distance
#: is a few percent of the face).
IR_MARGIN = 0.3
#: Mean IR level (0-255) above which the face region is lit by the illuminator. A live
#: face and paper reflect it (simulator: 100-190); a screen does not (simulator: ~10).
#: Used only to tell a print from a screen once no IR face was found.
IR_LIT = 60.0
#: IR band-pass energy over colour band-pass energy at the face: a live face in the
#: simulator ~1.05 (its IR keeps the face's texture), a print ~0.23. Real skin in NIR is
#: smoother than in colour (light scatters under the skin): expect 0.5-0.9 on a real
#: module, still well above a print; this is the first number to check on site.
TEXTURE_MIN = 0.40
#: Share of the window's frames whose IR must look live.
IR_SHARE = 2 / 3
#: Least movement in the window, as a share of the face's middle (80 % of its box):
#: 0.3 % is 0.5 px on the 200-px face of the guide. Simulator, any 0.6 s window: a photo
#: on a stand moves ≤ 0.09 % (sensor noise), a live face 1.3-5 %; the threshold sits
#: ~4× from either. A person standing at a kiosk sways millimetres a second: pixels, not
#: tenths of one.
MOTION_MIN = 0.003
#: More than this between the window's first frame and now (12 % of the face width) is
#: not micro-motion: the citizen moved, the window starts again ("hold_still").
MOTION_MAX = 0.12
#: Size of the face patches compared by phase correlation, and their smoothing (σ, px).
#: Phase correlation weighs every frequency alike, so the patch is smoothed first: sensor
#: noise is strongest at the finest scales, and noise that repeats from frame to frame
#: (fixed-pattern noise; the simulator's recycled noise fields) would otherwise pull the
#: estimate towards its own displacement.
PATCH = 64
_PATCH_BLUR = 1.5
#: Texture: a difference of Gaussians of σ 1 and 4 px on the face scaled to 96 px.
TEXTURE_SIZE = 96
_FINE, _COARSE = 1.0, 4.0

# Challenge -----------------------------------------------------------------------------
#: Eyes count as closed below this share of the open-eye ratio seen in the attempt, and
#: open again above :data:`EYES_OPEN`; open eyes measure ~0.25-0.35, closed ~0.1.
EYES_CLOSED = 0.65
EYES_OPEN = 0.85
#: An open-eye ratio below this is not trusted as "open" (squinting, glasses' glare).
EYES_MIN_OPEN = 0.2
#: Head turned: the nose tip moved sideways by this share of the span of the eyes' corners
#: from where it was in the attempt's first frames (roughly 20°). Relative, because
#: "frontal" differs from face to face and camera to camera (the fixtures' frontal photos
#: measure -0.16 to 0.12).
YAW_TURNED = 0.12
#: Frames whose median yaw is the starting point.
YAW_BASELINE_FRAMES = 3

REASONS = ("not_live.screen", "not_live.print", "not_live.still", "not_live.challenge")


# --- geometry ------------------------------------------------------------------------------


def map_box(box: Box, source: Tuple[int, int], target: Tuple[int, int]) -> Box:
    """``box`` in a frame of ``source`` (width, height) mapped to one of ``target``."""
    sx, sy = target[0] / source[0], target[1] / source[1]
    x, y, w, h = box
    return round(x * sx), round(y * sy), round(w * sx), round(h * sy)


def grown(box: Box, share: float, size: Tuple[int, int]) -> Box:
    """``box`` grown by ``share`` of its size on each side, kept inside ``size``."""
    x, y, w, h = box
    dx, dy = round(w * share), round(h * share)
    left, top = max(0, x - dx), max(0, y - dy)
    right, bottom = min(size[0], x + w + dx), min(size[1], y + h + dy)
    return left, top, max(0, right - left), max(0, bottom - top)


def inner(image: Image, box: Box, share: float = 0.8) -> Image:
    """The middle ``share`` of ``box`` (cheeks, eyes, nose; not the background)."""
    x, y, w, h = box
    mx, my = round(w * (1 - share) / 2), round(h * (1 - share) / 2)
    height, width = image.shape[:2]
    top, left = min(max(0, y + my), height), min(max(0, x + mx), width)
    bottom, right = min(max(top, y + h - my), height), min(max(left, x + w - mx), width)
    out: Image = image[top:bottom, left:right]
    return out


# --- IR --------------------------------------------------------------------------------------


def band_energy(grey: Image) -> float:
    """Mid-frequency energy of a face region: the spread of a difference of Gaussians
    on the region scaled to :data:`TEXTURE_SIZE` (sensor noise is mostly above the band)."""
    if grey.size == 0:
        return 0.0
    scaled = cv2.resize(grey, (TEXTURE_SIZE, TEXTURE_SIZE), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )
    band = cv2.GaussianBlur(scaled, (0, 0), _FINE) - cv2.GaussianBlur(scaled, (0, 0), _COARSE)
    return float(band.std())


def texture_ratio(ir_face: Image, grey_face: Image) -> float:
    """IR band energy over the colour face's, at the same place (floor 1 grey level, so a
    featureless colour face cannot make any IR look textured)."""
    return band_energy(ir_face) / max(band_energy(grey_face), 1.0)


@dataclass(frozen=True)
class IrReading:
    """What the IR frame shows where the colour frame has the face."""

    found: bool  #: the detector finds a face there
    level: float  #: mean IR level of the face region, 0-255
    texture: float  #: :func:`texture_ratio`

    def verdict(self) -> Optional[str]:
        """``None`` when it looks live, else the reason."""
        if self.found and self.texture >= TEXTURE_MIN:
            return None
        if self.level >= IR_LIT and self.texture < TEXTURE_MIN:
            return "not_live.print"
        if not self.found:
            return "not_live.screen"
        return "not_live.print"


# --- motion ----------------------------------------------------------------------------------


def motion_patch(grey: Image, box: Box) -> Patch:
    """The face's middle as a float patch for :func:`shift`."""
    region = inner(grey, box)
    if region.size == 0:
        return np.zeros((PATCH, PATCH), np.float32)
    scaled = cv2.resize(region, (PATCH, PATCH), interpolation=cv2.INTER_AREA).astype(np.float32)
    return np.asarray(cv2.GaussianBlur(scaled, (0, 0), _PATCH_BLUR), np.float32)


_WINDOW: Optional[Patch] = None


def shift(reference: Patch, patch: Patch) -> float:
    """How far ``patch`` moved from ``reference``, as a share of the patch's width."""
    global _WINDOW  # noqa: PLW0603 - a constant built once
    if _WINDOW is None:
        _WINDOW = np.asarray(cv2.createHanningWindow((PATCH, PATCH), cv2.CV_32F), np.float32)
    # Copies: OpenCV 4 applies the window to its inputs in place.
    (dx, dy), _response = cv2.phaseCorrelate(reference.copy(), patch.copy(), _WINDOW)
    return math.hypot(dx, dy) / PATCH


# --- the window's verdict ------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    live: bool
    reason: str  #: "live" or one of :data:`REASONS`


def judge_binocular(ir_verdicts: Sequence[Optional[str]], shifts: Sequence[float]) -> Verdict:
    """The window's verdict from each frame's IR verdict and movement."""
    if not ir_verdicts:
        return Verdict(False, "not_live.screen")
    failures = [v for v in ir_verdicts if v is not None]
    if len(failures) > (1 - IR_SHARE) * len(ir_verdicts):
        worst = max(("not_live.screen", "not_live.print"), key=failures.count)
        return Verdict(False, worst)
    if max(shifts, default=0.0) < MOTION_MIN:
        return Verdict(False, "not_live.still")
    return Verdict(True, "live")


# --- challenge -------------------------------------------------------------------------------

_LEFT_EYE = slice(36, 42)
_RIGHT_EYE = slice(42, 48)


def _eye_ratio(eye: Points) -> float:
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    horizontal = np.linalg.norm(eye[0] - eye[3])
    return float(vertical / (2 * horizontal)) if horizontal > 0 else 0.0


def eye_aspect_ratio(points: Points) -> float:
    """Both eyes' mean aspect ratio (height over width) from the 68 landmarks."""
    return (_eye_ratio(points[_LEFT_EYE]) + _eye_ratio(points[_RIGHT_EYE])) / 2


def yaw(points: Points) -> float:
    """From the 5 landmarks (two corners of each eye, the nose's base): the nose's offset
    from the eyes' middle, as a share of the span of the eyes' corners.

    Positive: the nose is to the right in the (unmirrored) camera image — the citizen
    turned to *their* left.
    """
    eyes, nose = points[:4, 0], points[4, 0]
    span = float(eyes.max() - eyes.min())
    if span <= 0:
        return 0.0
    return float((nose - eyes.mean()) / span)


class Challenge:
    """One active challenge followed frame by frame (pure: fed measurements)."""

    def __init__(self, kind: str) -> None:
        if kind not in CHALLENGES:
            raise ValueError(f"unknown challenge {kind!r}")
        self.kind = kind
        self.done = False
        self._open = 0.0
        self._closed = False
        self._yaws: List[float] = []

    def feed(self, eye_ratio: float, head_yaw: float) -> bool:
        """Add one frame's measurements; ``True`` once the challenge is met."""
        if self.done:
            return True
        if self.kind == "blink":
            self._blink(eye_ratio)
        else:
            self._turn(head_yaw)
        return self.done

    def _blink(self, ratio: float) -> None:
        if not self._closed:
            if self._open >= EYES_MIN_OPEN and ratio < EYES_CLOSED * self._open:
                self._closed = True
            else:
                self._open = max(self._open, ratio)
        elif ratio > EYES_OPEN * self._open:
            self.done = True

    def _turn(self, head_yaw: float) -> None:
        if len(self._yaws) < YAW_BASELINE_FRAMES:
            self._yaws.append(head_yaw)
            return
        turned = head_yaw - float(np.median(self._yaws))
        if (turned if self.kind == "turn_left" else -turned) > YAW_TURNED:
            self.done = True
