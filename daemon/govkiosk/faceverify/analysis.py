"""What one camera frame says: the worker's per-frame work.

:func:`analyse` finds the faces of a colour frame, judges the framing (a quality hint
for the citizen), and for a well-framed face reads the IR frame at its place, how far it
moved since the window's first frame, the challenge's landmarks and — when asked — its
embedding. It runs in the worker process (:mod:`.worker`); requests and reports cross
the pipe between the processes and nothing else: no file, no log (§8 d). Their ``repr``
withholds images, patches and embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

import cv2
import numpy as np

from . import liveness
from .liveness import IrReading
from .model import Box, FaceModel, quality_hint

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]
    Vector = NDArray[np.float64]
    Patch = NDArray[np.float32]

#: The IR search region is scaled so the face is about this high: enough for the
#: detector (80 px), little work.
_IR_FACE = 110
#: The largest frame the worker is sent (width, height); bigger ones are scaled down.
MAX_FRAME = (640, 480)


@dataclass(frozen=True)
class Reference:
    """The window's first good frame: the face box and its patch for :func:`liveness.shift`."""

    box: Box
    patch: Patch

    def __repr__(self) -> str:
        return f"Reference(box={self.box}, patch=<withheld>)"


@dataclass(frozen=True)
class FrameRequest:
    rgb: Image  #: colour frame, BGR
    ir: Optional[Image]  #: the IR frame of the same instant (grey), if there is an IR camera
    min_face: int
    challenge: bool = False  #: measure the head's turn (5 landmarks)
    eyes: bool = False  #: measure the eyes' opening (68 landmarks: the blink challenge)
    reference: Optional[Reference] = None
    embed: bool = False

    def __repr__(self) -> str:
        return (
            f"FrameRequest({self.rgb.shape[1]}×{self.rgb.shape[0]},"
            f" ir={self.ir is not None}, embed={self.embed})"
        )


@dataclass(frozen=True)
class FrameReport:
    faces: int
    box: Optional[Box] = None  #: the largest face
    hint: Optional[str] = None  #: what the citizen should change; ``None``: well framed
    ir: Optional[IrReading] = None
    #: Movement since the reference frame, as a share of the face's width.
    shift: Optional[float] = None
    #: This frame as the reference, when the request had none.
    reference: Optional[Reference] = None
    embedding: Optional[Vector] = None
    eye_ratio: Optional[float] = None
    yaw: Optional[float] = None

    def __repr__(self) -> str:
        embedding = None if self.embedding is None else "<withheld>"
        return (
            f"FrameReport(faces={self.faces}, box={self.box}, hint={self.hint}, ir={self.ir},"
            f" shift={self.shift}, embedding={embedding})"
        )


def fit(image: Image, limit: Tuple[int, int] = MAX_FRAME) -> Image:
    """``image`` scaled down to fit ``limit`` (width, height); unchanged when it does."""
    height, width = image.shape[:2]
    scale = min(limit[0] / width, limit[1] / height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)


def _grey(image: Image) -> Image:
    if image.ndim == 2:
        return image
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)


def read_ir(model: FaceModel, ir: Image, grey: Image, box: Box) -> IrReading:
    """The IR frame at the colour face's place (:mod:`.liveness`, signs 1 and 2)."""
    ir = _grey(ir)
    colour_size = (grey.shape[1], grey.shape[0])
    ir_size = (ir.shape[1], ir.shape[0])
    ir_box = liveness.map_box(box, colour_size, ir_size)
    x, y, w, h = liveness.grown(ir_box, liveness.IR_MARGIN, ir_size)
    region = ir[y : y + h, x : x + w]
    found = False
    if region.size and ir_box[3] > 0:
        scale = min(1.0, _IR_FACE / ir_box[3])
        small = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        centre = (ir_box[0] + ir_box[2] / 2, ir_box[1] + ir_box[3] / 2)
        for fx, fy, fw, fh in model.detect(np.asarray(small)):
            cx, cy = x + (fx + fw / 2) / scale, y + (fy + fh / 2) / scale
            if (
                abs(cx - centre[0]) <= ir_box[2] * liveness.IR_MARGIN
                and abs(cy - centre[1]) <= ir_box[3] * liveness.IR_MARGIN
            ):
                found = True
                break
    ir_face = liveness.inner(ir, ir_box)
    level = float(ir_face.mean()) if ir_face.size else 0.0
    texture = liveness.texture_ratio(ir_face, liveness.inner(grey, box))
    return IrReading(found=found, level=level, texture=texture)


def analyse(model: FaceModel, request: FrameRequest) -> FrameReport:
    """One frame: framing, then IR, movement, landmarks and embedding of a good face."""
    frame = request.rgb
    boxes = model.find_faces(frame)
    grey = _grey(frame)
    brightness = float(liveness.inner(grey, boxes[0]).mean()) if boxes else 0.0
    size = (frame.shape[1], frame.shape[0])
    hint = quality_hint(size, boxes, brightness, request.min_face)
    if hint is not None:
        return FrameReport(faces=len(boxes), box=boxes[0] if boxes else None, hint=hint)
    box = boxes[0]
    ir = read_ir(model, request.ir, grey, box) if request.ir is not None else None
    patch = liveness.motion_patch(grey, request.reference.box if request.reference else box)
    moved = liveness.shift(request.reference.patch, patch) if request.reference else 0.0
    reference = None if request.reference else Reference(box, patch)
    eye_ratio = head_yaw = None
    rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), np.uint8)
    if request.challenge:
        head_yaw = liveness.yaw(model.landmarks(grey, box, 5))
    if request.eyes:
        eye_ratio = liveness.eye_aspect_ratio(model.landmarks(grey, box, 68))
    embedding = model.embedding(rgb, box) if request.embed else None
    return FrameReport(
        faces=len(boxes),
        box=box,
        ir=ir,
        shift=moved,
        reference=reference,
        embedding=embedding,
        eye_ratio=eye_ratio,
        yaw=head_yaw,
    )
