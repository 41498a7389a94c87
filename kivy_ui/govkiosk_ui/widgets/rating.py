"""政务服务"好差评" on the done screen: five levels in one tap, reasons for the low two.

Optional and skippable: "finish" is the screen's main action and the rating never stands
in its way. A level of 3–5 is sent at once; 1–2 opens the reasons (any, or none) and a
"submit". Once the daemon has it, the panel thanks the citizen. Nothing here is personal:
the daemon counts the level and reasons per item.
"""

from __future__ import annotations

from typing import Any, Tuple

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from ..i18n import N_, _
from ..model import Session
from .buttons import KioskButton

#: The national five levels, best first, as the 好差评 system names them.
LEVELS = (
    (5, N_("Very satisfied")),
    (4, N_("Satisfied")),
    (3, N_("Fairly satisfied")),
    (2, N_("Dissatisfied")),
    (1, N_("Very dissatisfied")),
)
#: Levels at or below this ask for reasons before sending.
ASKS_REASONS = 2


class Rating(BoxLayout):
    #: "ask" (the five levels), "reasons" (after a low level), "thanks".
    stage = StringProperty("ask")
    level = NumericProperty(0)
    #: Shown only for a done session the daemon can take a rating for.
    offered = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_id = ""
        self._reasons: Tuple[Tuple[str, str], ...] = ()

    def show(self, session: Session) -> None:
        if session.session_id != self._session_id:
            self._session_id = session.session_id
            self.stage = "thanks" if session.evaluated else "ask"
            self.level = 0
            self.offered = False
            self.ids.reasons.clear_widgets()
        self.build_levels()

    def build_levels(self) -> None:
        box = self.ids.levels
        box.clear_widgets()
        for level, words in LEVELS:
            button = Factory.RatingButton(text=_(words), value=str(level))
            button.bind(on_release=self._rated)
            box.add_widget(button)

    def offer(self, reasons: Tuple[Tuple[str, str], ...], rated: bool) -> None:
        """The daemon's reasons arrived (or the rating was recorded)."""
        self._reasons = reasons
        self.offered = True
        if rated:
            self.stage = "thanks"

    def _rated(self, button: Any) -> None:
        self.level = int(button.value)
        if self.level <= ASKS_REASONS and self._reasons:
            self._show_reasons()
            self.stage = "reasons"
        else:
            self.send()

    def _show_reasons(self) -> None:
        box = self.ids.reasons
        box.clear_widgets()
        for code, label in self._reasons:
            box.add_widget(Factory.ReasonButton(value=code, words=label))

    def send(self) -> None:
        chosen = tuple(b.value for b in self.ids.reasons.children[::-1] if b.selected)
        App.get_running_app().journey.evaluate(self.level, chosen)


class ReasonButton(KioskButton):
    """One reason, selected or not: a filled or hollow dot says which, not colour alone."""

    selected = BooleanProperty(False)
    words = StringProperty("")

    def on_release(self) -> None:
        self.selected = not self.selected
