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

from kivy.animation import Animation
from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from .. import i18n
from ..i18n import N_, _
from ..model import Notice, Session, primary_choice, warns_of_time

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
#: A mark beside the words of a leaving choice; the main one is told apart by its shape
#: (filled, larger, bold), never by colour alone.
CHOICE_MARKS = {"cancel": "×", "disagree": "×"}


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


class Indeterminate(Widget):
    """Work of unknown length: a block sliding to and fro, only while on screen."""

    phase = NumericProperty(0.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sliding: Optional[Animation] = None

    def on_parent(self, *_args: Any) -> None:
        self._follow_window()

    def on_opacity(self, *_args: Any) -> None:
        self._follow_window()

    def _follow_window(self) -> None:
        shown = self.opacity > 0 and self.get_root_window() is not None
        if shown and self._sliding is None:
            self._sliding = Animation(phase=1.0, duration=0.9, t="in_out_sine") + Animation(
                phase=0.0, duration=0.9, t="in_out_sine"
            )
            self._sliding.repeat = True
            self._sliding.start(self)
        elif not shown and self._sliding is not None:
            self._sliding.cancel(self)
            self._sliding = None


class ConsentScreen(StepScreen):
    """The authorisation notice (授权告知): what the kiosk will query, from whom, why, and
    that it keeps nothing; scrollable, agreed to explicitly with the daemon's "agree"."""

    content_class = "ConsentContent"
    holder = StringProperty("")
    notice = StringProperty("")

    def render(self, session: Session) -> None:
        super().render(session)
        self.holder = session.holder
        item = App.get_running_app().items.get(session.item_code)
        self.notice = consent_notice(item.notice(i18n.language())) if item is not None else ""


def consent_notice(notice: Notice) -> str:
    """The notice's paragraphs in the UI language."""
    data = "\n".join(f"·  {line}" for line in notice.data)
    return "\n\n".join(
        (
            _("To handle {item}, this kiosk will ask {source} for:").format(
                item=notice.item, source=notice.source
            )
            + "\n"
            + data,
            _("Why: {purpose}").format(purpose=notice.purpose),
            _(
                "Kept: nothing. The result is used only to print your document now; this "
                "kiosk stores none of your information and clears it when you finish."
            ),
            _("You may disagree: nothing is queried and the application ends."),
        )
    )


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
    """The document's pages as PNGs from ``GetPreview``, one at a time, large; "zoom in"
    shows the page at the full width to scroll through; below, the seal the kiosk checked."""

    content_class = "PreviewContent"
    page = NumericProperty(0)
    pages = NumericProperty(0)
    zoomed = BooleanProperty(False)
    seal_text = StringProperty("")
    #: The daemon's prompt, beside the page: the page takes the title's height.
    instruction = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self._shown_for = ""  # the session whose pages are loaded
        super().__init__(**kwargs)
        self.magnifier: Any = Factory.PageMagnifier()

    def render(self, session: Session) -> None:
        super().render(session)
        self.instruction, self.prompt = session.prompt, ""
        self.pages = session.pages
        self.seal_text = seal_line(session)
        if self._shown_for != session.session_id:
            # The previous citizen's page never stays on screen, not even while the
            # daemon is still rendering this session's pages.
            self._shown_for = ""
            self.content.ids.page.texture = None
            self.magnifier.ids.page.texture = None
            self.zoomed = False
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
        self.magnifier.ids.page.texture = image.texture
        self.magnifier.scroll_y = 1

    def toggle_zoom(self) -> None:
        self.zoomed = not self.zoomed

    def on_zoomed(self, _screen: Any, zoomed: bool) -> None:
        stage = self.content.ids.stage.__self__
        if zoomed and self.magnifier.parent is None:
            stage.add_widget(self.magnifier, index=len(stage.children))
            self.magnifier.scroll_y = 1  # from the top of the page
        elif not zoomed and self.magnifier.parent is stage:
            stage.remove_widget(self.magnifier)

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None:
        super().show_countdown(seconds, fraction, warning)
        if warning:
            self.zoomed = False  # the whole screen back: the warning and "more time" show


def seal_line(session: Session) -> str:
    """What the kiosk checked of the document's electronic seal, in words."""
    if not session.seal_verified:
        return ""
    if session.seal_issuer:
        return _("Electronic seal verified: {issuer}").format(issuer=session.seal_issuer)
    return _("Electronic seal verified")


class DoneScreen(StepScreen):
    """Done: what was printed and what to take, the reference number, and 好差评.

    Its time limit only brings the kiosk back home for the next citizen: no warning
    and no "more time" here (``model.warns_of_time``), which would alarm someone who
    has finished.
    """

    content_class = "DoneContent"
    receipt_text = StringProperty("")
    reference = StringProperty("")

    def render(self, session: Session) -> None:
        super().render(session)
        self.reference = session.reference
        self.receipt_text = (
            _("The receipt is printed. Please take your documents and your ID card.")
            if session.receipt_printed
            else _("Please take your documents and your ID card")
        )
        self.content.ids.rating.show(session)


class ErrorScreen(StepScreen):
    """A failure: the daemon's short message and its one next action."""

    content_class = "ErrorContent"
    message = StringProperty("")
    #: The short code staff look up (P01); the daemon's own code stays in its log.
    staff_code = StringProperty("")

    def render(self, session: Session) -> None:
        super().render(session)
        # The daemon's prompt is the message itself: the title says what happened instead.
        self.prompt = _("Sorry, this could not be finished")
        self.message = session.message or _("Something went wrong")
        self.staff_code = session.staff_code
