"""The camera steps: the face in front of the binocular camera, a page under the document camera.

Both show the daemon's camera picture (``GetCameraFrame``, fetched by the journey about 15
times a second), large and centred, with a guide over it: the oval the face should fill, or
the outline of the page the daemon found; then, under the document camera, the corrected
page for the citizen to accept or retake. The daemon's prompt above says what to do
(请正对摄像头, 请靠近一点 …). The picture is the citizen's own face or papers: it is only ever
a texture on this screen, replaced by the next and dropped when the screen is left or
another session is shown.
"""

from __future__ import annotations

import io
from typing import Any, List, Tuple

from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.widget import Widget
from kivy.utils import escape_markup

from ..i18n import _
from ..model import Session
from .steps import StepScreen


class CameraPicture(Widget):
    """The camera picture fitted into the widget and centred, on a dark backdrop that
    keeps its place before the first picture arrives; ``frame`` is where it is drawn and
    ``points`` the outline (given in 0..1 of the picture), both in the coordinates the
    widget's own ``pos`` is in."""

    texture = ObjectProperty(None, allownone=True)
    #: Width / height of the picture expected before the first one arrives.
    aspect = NumericProperty(4 / 3)
    #: Corners x, y … in 0..1 of the picture (top-left origin), as the daemon sends them.
    outline = ListProperty([])
    #: Where the picture is drawn: x, y, width, height.
    frame = ListProperty([0.0, 0.0, 0.0, 0.0])
    #: The outline where it is drawn (x1, y1, … x4, y4), for the canvas.
    points = ListProperty([])

    def on_texture(self, *_args: Any) -> None:
        self._place()

    def on_outline(self, *_args: Any) -> None:
        self._place()

    def on_aspect(self, *_args: Any) -> None:
        self._place()

    def on_size(self, *_args: Any) -> None:
        self._place()

    def on_pos(self, *_args: Any) -> None:
        self._place()

    def _place(self) -> None:
        texture = self.texture
        aspect = texture.width / texture.height if texture is not None else self.aspect
        width = min(self.width, self.height * aspect)
        height = width / aspect
        left, bottom = self.center_x - width / 2, self.center_y - height / 2
        self.frame = [left, bottom, width, height]
        corners = self.outline
        points: List[float] = []
        for i in range(0, len(corners) - 1, 2):
            points += [left + corners[i] * width, bottom + (1 - corners[i + 1]) * height]
        self.points = points
        self.place_guide(left, bottom, width, height)

    def place_guide(self, left: float, bottom: float, width: float, height: float) -> None:
        """Where a guide drawn over the picture goes; none by default."""

    def show(self, jpeg: bytes, outline: Tuple[float, ...]) -> None:
        # Decoded in memory and never cached: no copy outlives the texture.
        self.texture = CoreImage(io.BytesIO(jpeg), ext="jpg", nocache=True).texture
        self.outline = list(outline)

    def clear(self) -> None:
        self.texture = None
        self.outline = []


#: The face guide, in shares of the picture's height: the oval's size, and its centre's
#: distance from the top — where the daemon wants the face (``quality_hint``: centred
#: across, at 45 % of the height from the top), so the oval and "move into the frame" agree.
OVAL_HEIGHT = 0.62
OVAL_WIDTH = 0.47
OVAL_CENTRE_FROM_TOP = 0.45


class FacePicture(CameraPicture):
    """The face camera's picture with the oval the face should fill."""

    #: The oval: x, y, width, height.
    oval = ListProperty([0.0, 0.0, 0.0, 0.0])

    def place_guide(self, left: float, bottom: float, width: float, height: float) -> None:
        oval_w, oval_h = height * OVAL_WIDTH, height * OVAL_HEIGHT
        centre_y = bottom + height * (1 - OVAL_CENTRE_FROM_TOP)
        self.oval = [left + (width - oval_w) / 2, centre_y - oval_h / 2, oval_w, oval_h]


class CameraScreen(StepScreen):
    """A step screen with the camera picture in its middle (``content.ids.picture``)."""

    detail = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self._shown_for = ""  #: the session whose picture may be on screen
        super().__init__(**kwargs)

    @property
    def picture(self) -> CameraPicture:
        picture: CameraPicture = self.content.ids.picture.__self__  # the widget, not its proxy
        return picture

    def render(self, session: Session) -> None:
        if self._shown_for != session.session_id:
            self.clear_picture()  # never one citizen's picture under another's session
            self._shown_for = session.session_id
        super().render(session)

    def show_frame(self, jpeg: bytes, outline: Tuple[float, ...]) -> None:
        self.picture.show(jpeg, outline)

    def clear_picture(self) -> None:
        self.picture.clear()

    def on_leave(self, *_args: Any) -> None:
        self.clear_picture()
        self._shown_for = ""


class FaceScreen(CameraScreen):
    """Face verification: the mirrored picture, the oval the face should fill, and the
    attempt count, small, beside the choices.

    No "time is almost up" here (``model.warns_of_time``): an attempt has its own limit,
    and the citizen who runs out of it is offered another attempt.
    """

    content_class = "FaceContent"

    def render(self, session: Session) -> None:
        super().render(session)
        self.note = (
            _("Attempt {attempt} of {attempts}").format(
                attempt=session.attempt, attempts=session.attempts
            )
            if session.attempts > 1 and session.attempt
            else ""
        )


class CaptureScreen(CameraScreen):
    """A paper material under the document camera: the live picture with the outline of the
    page found, then the corrected page for review (accept or retake), which "zoom in"
    shows at the full width to scroll through."""

    content_class = "CaptureContent"
    #: The corrected page is shown for review (the daemon offers accept/retake).
    reviewing = BooleanProperty(False)
    #: The page under review is shown magnified.
    zoomed = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.magnifier: Any = Factory.PageMagnifier()
        self.picture.bind(texture=self._magnify)

    def render(self, session: Session) -> None:
        super().render(session)
        reviewing = "accept" in session.choices
        if reviewing != self.reviewing:
            self.clear_picture()  # the live picture is not the page under review, nor back
        self.reviewing = reviewing
        if not self.reviewing:
            self.zoomed = False
        self.detail = describe_page(session)

    def _magnify(self, _picture: Any, texture: Any) -> None:
        self.magnifier.ids.page.texture = texture

    def on_zoomed(self, _screen: Any, zoomed: bool) -> None:
        stage = self.content.ids.stage.__self__
        shown, hidden = (self.magnifier, self.picture) if zoomed else (self.picture, self.magnifier)
        if hidden.parent is stage:
            stage.remove_widget(hidden)
        if shown.parent is None:
            stage.add_widget(shown, index=len(stage.children))  # under the zoom button
        self.magnifier.scroll_y = 1  # from the top of the page

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None:
        super().show_countdown(seconds, fraction, warning)
        if warning:
            self.zoomed = False  # the whole screen back: the warning and "more time" show

    def clear_picture(self) -> None:
        super().clear_picture()
        self.zoomed = False


def describe_page(session: Session) -> str:
    """The material in bold and which of its pages this is (kv markup)."""
    if not session.material:
        return ""
    page = _("Page {page} of {pages}").format(page=session.page, pages=session.page_count)
    return f"[b]{escape_markup(session.material)}[/b]    {page}"
