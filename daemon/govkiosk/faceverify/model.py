"""The face model: dlib's detector, landmarks and ResNet embedding.

- **Detection**: dlib's frontal face detector (HOG + linear SVM). It finds faces from
  about 80 px high; a camera frame is searched at half size first (faces the kiosk's
  guide asks for are ~200 px in 640×480, so 100 px there) and at full size only when
  nothing was found. A card photo (102×126) is searched at twice its size.
- **Alignment**: the 5-point shape predictor, then ``dlib.get_face_chip`` (150 px).
- **Embedding**: dlib's ResNet (``dlib_face_recognition_resnet_model_v1``), a 128-d
  vector; two faces are compared by Euclidean **distance** (dlib's own same-person
  threshold on LFW is 0.6).
- **Score**: ``score = 1 - distance / 1.1``, clipped to 0..1. Beyond a distance of about
  1.1 dlib's embeddings belong to unrelated faces, so 0 means "nothing alike", 1 "the
  same image"; the default ``[face] threshold`` 0.50 is a distance of 0.55 (docs/face.md
  says how it was chosen and what seven photos cannot tell).
- **Landmarks for the challenge**: the 5 points give the head's turn (:func:`.liveness.yaw`);
  the 68-point predictor (the eyes' outline) is loaded on first use, only for the blink
  challenge — its training data excludes commercial use (docs/face.md).

Weights come from the ``face_recognition_models`` package (dlib's published files) or
from ``[face] model_dir`` holding the same file names; nothing is downloaded. dlib is
imported only where the model is built: in the worker process (:mod:`.worker`) and in
``govkioskctl face``, never in the daemon.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .errors import ModelError, NoFaceError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]
    Vector = NDArray[np.float64]

#: The weights, named as the face_recognition_models package names them.
MODEL_FILES: Dict[str, str] = {
    "recognition": "dlib_face_recognition_resnet_model_v1.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
}
#: Distance at which the score reaches 0.
SCORE_SCALE = 1.1
#: The aligned face chip the ResNet reads.
CHIP_SIZE = 150
#: Below this many pixels high a frame is searched at full size only.
_HALF_SIZE_FROM = 360

Box = Tuple[int, int, int, int]  #: x, y, width, height


def distance(a: Vector, b: Vector) -> float:
    """Euclidean distance between two embeddings."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def score(dist: float) -> float:
    """The 0..1 similarity of a distance (module docstring)."""
    return float(min(1.0, max(0.0, 1.0 - dist / SCORE_SCALE)))


def distance_at(similarity: float) -> float:
    """The distance a score stands for: ``threshold`` 0.50 → 0.55."""
    return (1.0 - similarity) * SCORE_SCALE


# --- where the weights are --------------------------------------------------------------


def package_directory() -> Optional[Path]:
    """The face_recognition_models package's weights, found without importing it (it
    imports pkg_resources, which newer setuptools no longer ship)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_paths(model_dir: str = "") -> Dict[str, Path]:
    """Each weights file's path (``model_dir``, else the package's); :class:`ModelError`
    when there is neither."""
    base = Path(model_dir) if model_dir else package_directory()
    if base is None:
        raise ModelError(
            "face: the face_recognition_models package is not installed and"
            " face.model_dir is empty: there are no weights"
        )
    return {name: base / file for name, file in MODEL_FILES.items()}


def model_problems(model_dir: str, needs_landmarks68: bool) -> List[str]:
    """What keeps the model from loading here, each named (``--check-config``)."""
    problems = []
    if importlib.util.find_spec("dlib") is None:
        problems.append("face: dlib is not installed (the face extra: dlib-bin)")
    try:
        paths = model_paths(model_dir)
    except ModelError as err:
        return [*problems, str(err)]
    key = "face.model_dir" if model_dir else "face.model_dir (empty: the package's weights)"
    for name, path in paths.items():
        if name == "landmarks68" and not needs_landmarks68:
            continue
        if not path.is_file():
            problems.append(f"{key}: {path}: no such file")
        elif not os.access(path, os.R_OK):
            problems.append(f"{key}: {path}: not readable by this user")
    return problems


# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundFace:
    """A face in an image: where, and its embedding. ``repr`` withholds the embedding."""

    box: Box
    embedding: Vector

    def __repr__(self) -> str:
        return f"FoundFace(box={self.box}, embedding=<withheld>)"


def _rect(dlib: Any, box: Box) -> Any:
    x, y, w, h = box
    return dlib.rectangle(int(x), int(y), int(x + w), int(y + h))


def _box(rect: Any, scale: float = 1.0) -> Box:
    return (
        round(rect.left() * scale),
        round(rect.top() * scale),
        round(rect.width() * scale),
        round(rect.height() * scale),
    )


def _rgb(image: Image) -> Image:
    out: Image = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return out


class FaceModel:
    """dlib's face pipeline, loaded once. Not thread-safe: one per process."""

    def __init__(self, model_dir: str = "") -> None:
        try:
            import dlib  # noqa: PLC0415 - the daemon never imports dlib, only the worker
        except ImportError as err:
            raise ModelError("face: dlib is not installed (the face extra: dlib-bin)") from err
        self._dlib: Any = dlib
        self._paths = model_paths(model_dir)
        self._detector: Any = dlib.get_frontal_face_detector()
        self._landmarks5: Any = self._load("landmarks5", dlib.shape_predictor)
        self._recognition: Any = self._load("recognition", dlib.face_recognition_model_v1)
        self._landmarks68: Any = None

    def _load(self, name: str, loader: Any) -> Any:
        path = self._paths[name]
        if not path.is_file():
            raise ModelError(f"face: {path}: no such file ({name} weights)")
        try:
            return loader(str(path))
        except RuntimeError as err:
            raise ModelError(f"face: {path}: not usable {name} weights: {err}") from err

    # --- detection ------------------------------------------------------------------------

    def detect(self, image: Image, upsample: int = 0) -> List[Box]:
        """Faces in an RGB or grey image, largest first."""
        rects = self._detector(np.ascontiguousarray(image), upsample)
        return sorted((_box(r) for r in rects), key=lambda b: -b[2] * b[3])

    def find_faces(self, image: Image) -> List[Box]:
        """Faces in a camera frame (BGR), largest first: half size, then full size."""
        rgb = _rgb(image)
        if rgb.shape[0] >= _HALF_SIZE_FROM:
            half = cv2.resize(
                rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA
            )
            found = [(x * 2, y * 2, w * 2, h * 2) for x, y, w, h in self.detect(np.asarray(half))]
            if found:
                return found
        return self.detect(rgb)

    # --- landmarks and embeddings ------------------------------------------------------

    def landmarks(self, rgb: Image, box: Box, points: int = 5) -> NDArray[np.float64]:
        """The 5 or 68 landmarks of the face in ``box`` (RGB or grey), as (x, y) rows."""
        predictor = self._landmarks5 if points == 5 else self._landmarks68_predictor()
        shape = predictor(np.ascontiguousarray(rgb), _rect(self._dlib, box))
        return np.array([(p.x, p.y) for p in shape.parts()], np.float64)

    def _landmarks68_predictor(self) -> Any:
        if self._landmarks68 is None:
            self._landmarks68 = self._load("landmarks68", self._dlib.shape_predictor)
        return self._landmarks68

    def embedding(self, rgb: Image, box: Box) -> Vector:
        """The 128-d embedding of the face in ``box`` of an RGB image."""
        image = np.ascontiguousarray(rgb)
        shape = self._landmarks5(image, _rect(self._dlib, box))
        chip = self._dlib.get_face_chip(image, shape, size=CHIP_SIZE)
        vector: Vector = np.array(self._recognition.compute_face_descriptor(chip), np.float64)
        return vector

    def faces_in_image(self, image: Image, limit: int = 1024) -> List[FoundFace]:
        """Every face of a photo (BGR) with its embedding, largest first (``face compare``).

        Searched at up to ``limit`` px on the longer side with one upsampling step (faces
        from ~40 px there), embedded at full resolution.
        """
        rgb = _rgb(image)
        scale = max(rgb.shape[:2]) / limit if max(rgb.shape[:2]) > limit else 1.0
        small = (
            rgb
            if scale == 1.0
            else cv2.resize(
                rgb,
                (round(rgb.shape[1] / scale), round(rgb.shape[0] / scale)),
                interpolation=cv2.INTER_AREA,
            )
        )
        boxes = [
            (round(x * scale), round(y * scale), round(w * scale), round(h * scale))
            for x, y, w, h in self.detect(np.asarray(small), upsample=1)
        ]
        return [FoundFace(box, self.embedding(rgb, box)) for box in boxes]

    def card_embedding(self, photo: Image) -> Vector:
        """The embedding of the face in a card's photo (BGR, ~102×126)."""
        rgb = _rgb(photo)
        factor = 2 if rgb.shape[0] < 300 else 1
        if factor > 1:
            rgb = np.ascontiguousarray(
                cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            )
        boxes = self.detect(rgb, upsample=1) or self.detect(rgb, upsample=2)
        if not boxes:
            raise NoFaceError("no face was found in the card's photo")
        return self.embedding(rgb, boxes[0])


def quality_hint(
    frame_size: Tuple[int, int],
    boxes: Sequence[Box],
    brightness: float,
    min_face: int,
) -> Optional[str]:
    """What the citizen should change, from a frame's detections; ``None`` when good.

    ``frame_size`` is (width, height); ``min_face`` is px high in a 640-px-wide frame;
    ``brightness`` the mean grey level (0-255) inside the largest face.
    """
    if not boxes:
        return "no_face"
    width, height = frame_size
    scale = width / 640
    largest = boxes[0]
    others = [b for b in boxes[1:] if b[3] >= min_face * scale / 2]
    if others:
        return "several_faces"
    x, y, w, h = largest
    if h < min_face * scale:
        return "closer"
    if abs(x + w / 2 - width / 2) > 0.2 * width or abs(y + h / 2 - height * 0.45) > 0.2 * height:
        return "centre"
    if brightness < 60:
        return "too_dark"
    return None
