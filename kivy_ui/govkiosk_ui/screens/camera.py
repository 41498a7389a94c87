"""The camera steps: the face in front of the binocular camera, a page under the document camera.

Both show the daemon's camera picture (``GetCameraFrame``, fetched by the journey about 15
times a second) with a guide over it: an oval the face should fill, or the outline of the
page the daemon found. The daemon's prompt above says what to do (请正对摄像头, 请靠近一点 …).
The picture is the citizen's own face: it is only ever a texture on this screen, replaced by
the next and dropped when the screen is left.
"""

from __future__ import annotations

import io
from typing import Any, List, Tuple

from kivy.core.image import Image as CoreImage
from kivy.properties import ListProperty, StringProperty
from kivy.uix.image import Image

from ..i18n import _
from ..model import Session
from .steps import StepScreen


class CameraPicture(Image):
    """The camera picture with its guide: ``outline`` in 0..1 of the picture, or none."""

    outline = ListProperty([])
    #: The outline in window coordinates, for the canvas (x1, y1, … x4, y4).
    points = ListProperty([])

    def on_outline(self, *_args: Any) -> None:
        self._place()

    def on_size(self, *_args: Any) -> None:
        self._place()

    def on_pos(self, *_args: Any) -> None:
        self._place()

    def _place(self) -> None:
        width, height = self.norm_image_size
        left = self.center_x - width / 2
        top = self.center_y + height / 2
        corners = self.outline
        points: List[float] = []
        for i in range(0, len(corners) - 1, 2):
            points += [left + corners[i] * width, top - corners[i + 1] * height]
        self.points = points


class CameraScreen(StepScreen):
    content_class = "CameraContent"
    detail = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self._shown_for = ""
        super().__init__(**kwargs)

    def render(self, session: Session) -> None:
        super().render(session)
        if self._shown_for != session.session_id:
            self.clear_picture()
            self._shown_for = session.session_id
        self.detail = self.describe(session)

    def describe(self, session: Session) -> str:
        return ""

    def show_frame(self, jpeg: bytes, outline: Tuple[float, ...]) -> None:
        picture = self.content.ids.picture
        picture.texture = CoreImage(io.BytesIO(jpeg), ext="jpg").texture
        picture.outline = list(outline)

    def clear_picture(self) -> None:
        picture = self.content.ids.picture
        picture.texture = None
        picture.outline = []

    def on_leave(self, *_args: Any) -> None:
        self.clear_picture()
        self._shown_for = ""


class FaceScreen(CameraScreen):
    """Face verification: the mirrored picture, an oval guide, the attempt count."""

    content_class = "FaceContent"

    def describe(self, session: Session) -> str:
        if session.attempts > 1 and session.attempt:
            return _("Attempt {attempt} of {attempts}").format(
                attempt=session.attempt, attempts=session.attempts
            )
        return ""


class CaptureScreen(CameraScreen):
    """A paper material under the document camera: the page outline, then the page for review."""

    content_class = "CaptureContent"

    def describe(self, session: Session) -> str:
        if not session.material:
            return ""
        return _("{material}: page {page} of {pages}").format(
            material=session.material, page=session.page, pages=session.page_count
        )
