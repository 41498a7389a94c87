"""What the camera steps are handed: the cameras, the face verifier, the page finder's settings.

The daemon's wiring builds these once; a step reads the getters where it acts, so a reload
reaches it. :func:`face_ready` and :func:`capture_ready` say whether items that need them
can run now, and why not — the catalogue shows such items as unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Tuple

import cv2

from ..devices.camera.hub import CameraHub
from ..docscan.settings import DocScanSettings
from ..faceverify.settings import FaceSettings
from ..faceverify.verifier import FaceVerifier
from ..items.catalogue import Item

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

RGB, IR, DOC = "face_camera_rgb", "face_camera_ir", "doc_camera"
#: The preview the UI shows is at most this wide (px); JPEG at this quality.
PREVIEW_WIDTH = 640
PREVIEW_QUALITY = 80


@dataclass
class FaceCheck:
    verifier: Callable[[], Optional[FaceVerifier]]  #: ``None``: not set up (no decoder or model)
    cameras: CameraHub
    settings: Callable[[], FaceSettings]


@dataclass
class CaptureCheck:
    cameras: CameraHub
    settings: Callable[[], DocScanSettings]


def face_ready(check: Optional[FaceCheck]) -> Tuple[bool, str]:
    """Whether ``card+face`` items can run now; the reason when not."""
    if check is None or check.verifier() is None:
        return False, "face verification is not set up (no photo decoder or model)"
    if not check.cameras.available(RGB):
        return False, f"no working {RGB} camera"
    return True, ""


def capture_ready(check: Optional[CaptureCheck]) -> Tuple[bool, str]:
    """Whether items with paper materials can run now; the reason when not."""
    if check is None or not check.cameras.available(DOC):
        return False, f"no working {DOC} camera"
    return True, ""


def item_ready(
    item: Item, faces: Optional[FaceCheck], captures: Optional[CaptureCheck]
) -> Tuple[bool, str]:
    """Whether ``item`` can run now on this kiosk's cameras; the reason when not."""
    if item.identity == "card+face":
        ready, why = face_ready(faces)
        if not ready:
            return ready, why
    if item.captures:
        return capture_ready(captures)
    return True, ""


def preview_jpeg(image: NDArray[np.uint8], mirrored: bool) -> bytes:
    """The camera picture as the UI shows it: mirrored for the face, scaled down, JPEG.
    Blocking: run it in an executor. ``image`` is zeroed once encoded."""
    try:
        shown = cv2.flip(image, 1) if mirrored else image
        height, width = shown.shape[:2]
        if width > PREVIEW_WIDTH:
            size = (PREVIEW_WIDTH, round(height * PREVIEW_WIDTH / width))
            shown = cv2.resize(shown, size, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
        if not ok:
            raise ValueError("the camera picture could not be encoded")
        return bytes(encoded)
    finally:
        image.fill(0)


def webapp_ready(
    item: Item, hosted: bool, faces: Optional[FaceCheck], captures: Optional[CaptureCheck]
) -> Tuple[bool, str]:
    """Whether a web-app item can run: web apps set up, and the cameras it declared."""
    if not hosted:
        return False, "web apps are not set up on this kiosk"
    devices = item.webapp.devices if item.webapp is not None else ()
    if "face" in devices:
        ready, why = face_ready(faces)
        if not ready:
            return ready, why
    if "doccam" in devices:
        return capture_ready(captures)
    return True, ""
