"""The screens of a running session, one per kind of step (docs/session-api.md).

Every step screen shares one frame: where the citizen is in the item's steps, the
step's countdown with "more time" when the daemon offers it, the daemon's prompt
(also spoken), the step's own content, and a button for each choice the daemon
allows — the main one large and filled, leaving ones outlined. The UI adds no choice
of its own: an error shows exactly the one next action the daemon names.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Optional, Tuple

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from .. import i18n
from ..i18n import N_, _
from ..model import Session, primary_choice, warns_of_time

_LOGGER = logging.getLogger(__name__)

CHOICE_LABELS = {
    "confirm": N_("Confirm"),
    "agree": N_("Agree"),
    "disagree": N_("Disagree"),
    "print": N_("Print"),
    "retry": N_("Try again"),
    "cancel": N_("Cancel"),
    "finish": N_("Finish"),
    "home": N_("Back to home"),
    "capture": N_("Capture"),
    "accept": N_("Use this page"),
    "retake": N_("Retake"),
}
#: A mark beside the words, so no button is told apart by colour alone.
CHOICE_MARKS = {
    "confirm": "√",
    "agree": "√",
    "print": "√",
    "finish": "√",
    "accept": "√",
    "cancel": "×",
}


class StepScreen(Screen):
    """The shared frame; ``content`` names the kv class drawn in its middle."""

    content_class = ""
    prompt = StringProperty("")
    step_text = StringProperty("")
    countdown_text = StringProperty("")
    countdown_fraction = NumericProperty(1.0)
    warning = BooleanProperty(False)
    extendable = BooleanProperty(False)
    #: A small line beside the choices (the face check's attempt count), or "".
    note = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        # Before super(): the kv rules run inside it and on_kv_post sets ``content``.
        self.session: Optional[Session] = None
        self.content: Any = None
        self._choices_shown: Tuple[Tuple[str, ...], str] = ((), "")
        super().__init__(**kwargs)

    def on_kv_post(self, _base_widget: Any) -> None:
        if self.content_class:
            self.content = Factory.get(self.content_class)(screen=self)
            self.ids.content.add_widget(self.content)

    def render(self, session: Session) -> None:
        self.session = session
        self.prompt = session.prompt
        self.extendable = session.extendable and warns_of_time(session)
        self.step_text = (
            _("Step {index} of {count}").format(
                index=session.step_index + 1, count=session.step_count
            )
            if session.step_count
            else ""
        )
        self._render_choices(session)

    def retranslate(self) -> None:
        if self.session is not None:
            self.render(self.session)

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None:
        self.countdown_text = _("{seconds} s left").format(seconds=seconds) if seconds >= 0 else ""
        self.countdown_fraction = fraction
        self.warning = warning

    def _render_choices(self, session: Session) -> None:
        # Rebuilt only when they change: a state that changes only the prompt (the face
        # check's guidance) must not swap a button from under a finger pressing it.
        shown = (session.choices, i18n.language())
        if shown == self._choices_shown:
            return
        self._choices_shown = shown
        box = self.ids.choices
        box.clear_widgets()
        main = primary_choice(session.choices)
        # Leaving choices first (left), the main one last (right, under the thumb).
        for choice in sorted(session.choices, key=lambda c: c == main):
            button = Factory.ChoiceButton(value=choice, primary=choice == main)
            mark = CHOICE_MARKS.get(choice, "")
            label = _(CHOICE_LABELS.get(choice, choice))
            button.text = f"{mark}  {label}" if mark else label
            button.bind(on_release=_choose)
            box.add_widget(button)


def _choose(button: Any) -> None:
    App.get_running_app().journey.choose(button.value)


class CardScreen(StepScreen):
    """Insert the ID card: an animated card sliding onto the reader."""

    content_class = "CardContent"


class ConfirmScreen(StepScreen):
    """Confirm who is applying: only the masked holder the daemon sends (张*, 2301**…1234)."""

    content_class = "ConfirmContent"
    holder = StringProperty("")

    def render(self, session: Session) -> None:
        super().render(session)
        self.holder = session.holder


class ProgressScreen(StepScreen):
    """The daemon at work (query, seal check) or a step the UI has no own screen for."""

    content_class = "ProgressContent"
    progress = NumericProperty(0.0)

    def render(self, session: Session) -> None:
        super().render(session)
        self.progress = session.progress


class PrintingScreen(ProgressScreen):
    """Printing, with the real progress the daemon reports per page."""

    content_class = "PrintingContent"
    pages = NumericProperty(0)


class PreviewScreen(StepScreen):
    """The document's pages as PNGs from ``GetPreview``, one at a time."""

    content_class = "PreviewContent"
    page = NumericProperty(0)
    pages = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        self._shown_for = ""  # the session whose pages are loaded
        super().__init__(**kwargs)

    def render(self, session: Session) -> None:
        super().render(session)
        self.pages = session.pages
        if self._shown_for != session.session_id:
            # The previous citizen's page never stays on screen, not even while the
            # daemon is still rendering this session's pages.
            self._shown_for = ""
            self.content.ids.page.texture = None
        # The pages exist once the daemon waits for the citizen (it renders them first).
        if session.state == "waiting" and self._shown_for != session.session_id:
            self._shown_for = session.session_id
            self.page = 0
            self.load_page()

    def turn(self, delta: int) -> None:
        page = min(max(self.page + delta, 0), max(self.pages - 1, 0))
        if page != self.page:
            self.page = page
            self.load_page()

    def load_page(self) -> None:
        if self.session is not None and self.pages:
            App.get_running_app().journey.load_preview(self.page)

    def show_page(self, png: bytes) -> None:
        image = CoreImage(io.BytesIO(png), ext="png")
        self.content.ids.page.texture = image.texture


class DoneScreen(StepScreen):
    """Done: take the documents and the card.

    Its time limit only brings the kiosk back home for the next citizen: no warning
    and no "more time" here (``model.warns_of_time``), which would alarm someone who
    has finished.
    """

    content_class = "DoneContent"


class ErrorScreen(StepScreen):
    """A failure: the daemon's short message and its one next action."""

    content_class = "ErrorContent"
    message = StringProperty("")
    error_code = StringProperty("")

    def render(self, session: Session) -> None:
        super().render(session)
        self.message = session.message or _("Something went wrong")
        self.error_code = session.error_code
