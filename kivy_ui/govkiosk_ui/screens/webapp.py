"""A web-app item's screens (docs/webapps.md): the native strip above the kiosk browser,
and the kiosk's own consent screen before a page gets anything of the ID card.

While a web app runs, the daemon's kiosk browser covers the screen below the strip; the
strip stays the UI's: "back to home" (ends the session at once — a dialog would open
behind the browser) and the countdown to the item's time limit, and what the page asked
the kiosk to say. When the page asks for the card, the daemon hides the browser and the
consent screen (a step screen like any other) lists the fields asked; only the daemon's
"agree" and "disagree" are offered: the page can neither draw nor answer it.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from .. import i18n
from ..i18n import N_, _
from ..model import Session
from .steps import StepScreen

#: The card fields a page may ask for (the daemon's names), as the citizen reads them.
FIELD_LABELS: Dict[str, str] = {
    "name": N_("Name"),
    "gender": N_("Sex"),
    "nation": N_("Ethnic group"),
    "birth_date": N_("Date of birth"),
    "address": N_("Address"),
    "id_number": N_("ID number"),
    "authority": N_("Issuing authority"),
    "valid_from": N_("Valid from"),
    "valid_to": N_("Valid until"),
    "pass_number": N_("Permit number"),
    "issue_count": N_("Times issued"),
    "card_number": N_("Card number"),
    "chinese_name": N_("Chinese name"),
    "english_name": N_("English name"),
    "nationality": N_("Nationality"),
}


def field_labels(fields: Tuple[str, ...]) -> str:
    """The fields asked, one per line, in the UI language (an unknown name as it is)."""
    return "\n".join(f"·  {_(FIELD_LABELS[f]) if f in FIELD_LABELS else f}" for f in fields)


class WebAppScreen(Screen):
    """The native strip; the rest of the screen is the kiosk browser's. Not a step screen:
    it has none of their frame, only their ``render`` and ``show_countdown``."""

    item_name = StringProperty("")
    prompt = StringProperty("")
    countdown_text = StringProperty("")
    countdown_fraction = NumericProperty(1.0)
    warning = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self.session: Optional[Session] = None
        super().__init__(**kwargs)

    def retranslate(self) -> None:
        if self.session is not None:
            self.render(self.session)

    def render(self, session: Session) -> None:
        self.session = session
        self.prompt = session.prompt
        item = App.get_running_app().items.get(session.item_code)
        self.item_name = item.shown(i18n.language()).name if item is not None else ""

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None:
        # Minutes and seconds: a web app's limit is long.
        if seconds >= 0:
            self.countdown_text = _("{minutes}:{seconds:02d} left").format(
                minutes=seconds // 60, seconds=seconds % 60
            )
        else:
            self.countdown_text = ""
        self.countdown_fraction = fraction
        self.warning = warning

    def go_home(self, *_args: Any) -> None:
        App.get_running_app().go_home(confirm=False)


class WebAppConsentScreen(StepScreen):
    """The kiosk's own consent screen for a page's card read: the fields asked."""

    content_class = "WebAppConsentContent"
    notice = StringProperty("")

    def render(self, session: Session) -> None:
        super().render(session)
        item = App.get_running_app().items.get(session.item_code)
        name = item.shown(i18n.language()).name if item is not None else ""
        self.notice = "\n\n".join(
            (
                _("The service page of {item} asks to read from your ID card:").format(item=name)
                + "\n"
                + field_labels(session.consent_fields),
                _(
                    "Only these fields go to the page, for this application only; the kiosk "
                    "keeps nothing. If you disagree, the page gets nothing from your card."
                ),
            )
        )
