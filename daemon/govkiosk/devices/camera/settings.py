"""``[camera]``: how the face cameras and the document camera are captured (§6.2 b, d)."""

from __future__ import annotations

from dataclasses import dataclass

from ...fields import seconds, setting

#: The roles a camera serves (``[[devices.static]] role`` or the port map).
FACE_RGB = "face_camera_rgb"  #: the binocular module's colour camera
FACE_IR = "face_camera_ir"  #: its near-infrared camera
DOC = "doc_camera"  #: the document camera (高拍仪)
ROLES = (FACE_RGB, FACE_IR, DOC)


def _width(value: int) -> bool:
    return 16 <= value <= 8192


def _fps(value: int) -> bool:
    return 1 <= value <= 120


def _fourcc(value: str) -> bool:
    return len(value) == 4 and value.isascii() and value.isprintable()


WIDTH = "a width in pixels between 16 and 8192"
HEIGHT = "a height in pixels between 16 and 8192"
FPS = "frames per second between 1 and 120"


@dataclass(frozen=True)
class Mode:
    """What a camera is asked for when it is opened."""

    width: int
    height: int
    fps: int
    fourcc: str


@dataclass(frozen=True)
class CameraSettings:
    """Capture modes and how soon a silent camera counts as lost."""

    #: The binocular face camera's colour and infrared streams.
    face_width: int = setting(640, expect=WIDTH, check=_width)
    #: The face camera's frame height in pixels (with `face_width`): 640×480 is what face
    #: verification is tuned for (`[face] min_face`); a larger frame costs CPU.
    face_height: int = setting(480, expect=HEIGHT, check=_width)
    #: The face camera's frames per second. Liveness watches the face over `[face] window_seconds`
    #: (0.6 s: 18 frames at 30 fps): fewer frames make it less sure. Lower it only if USB bandwidth
    #: is short.
    face_fps: int = setting(30, expect=FPS, check=_fps)
    #: The document camera: a page must be legible, a few frames a second suffice.
    doc_width: int = setting(1920, expect=WIDTH, check=_width)
    #: The document camera's frame height in pixels (with `doc_width`): 1920×1080 keeps an A4 page's
    #: small print legible; lower only for cameras that cannot deliver it.
    doc_height: int = setting(1080, expect=HEIGHT, check=_width)
    #: The document camera's frames per second: a page held still is detected from a few frames a
    #: second; lower it if USB bandwidth is short.
    doc_fps: int = setting(15, expect=FPS, check=_fps)
    #: Pixel format asked of a V4L2 camera where it offers it: MJPG carries full HD at
    #: 15 fps over USB 2, raw YUYV does not.
    fourcc: str = setting("MJPG", expect="four ASCII characters such as MJPG", check=_fourcc)
    #: No frame for this long while capturing: the camera has stalled and is reopened.
    stall_after: float = seconds(2.0)
    #: Opening a camera (or the first frame of a stream) may take this long.
    open_timeout: float = seconds(5.0)
    #: A camera's capture worker (the process that runs OpenCV for it) exits after the camera
    #: has not been used for this long, and starts again when a session or a snapshot needs it.
    worker_idle_exit: float = seconds(30.0)
    #: Starting a capture worker (a new Python with OpenCV) may take this long on top of
    #: `open_timeout` before the camera counts as not there.
    worker_start_timeout: float = seconds(20.0)
    #: Frames waiting for each reader; when full the oldest is dropped, so a slow
    #: reader always sees the newest frames.
    queue_depth: int = setting(
        2, expect="a whole number between 1 and 32", check=lambda v: 1 <= v <= 32
    )

    def mode_for(self, role: str) -> Mode:
        """The capture mode of a camera of ``role``."""
        if role == DOC:
            return Mode(self.doc_width, self.doc_height, self.doc_fps, self.fourcc)
        return Mode(self.face_width, self.face_height, self.face_fps, self.fourcc)
