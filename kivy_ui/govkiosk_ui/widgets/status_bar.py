"""The status bar every screen sits above (§7.3): what a citizen can act on, and the hotline.

The citizen sees the network and the paper, each a mark (√ ! × – ?) and words as well as
a colour, and the service hotline. The ops link, the power and the device count are the
staff's business: the bar keeps all :data:`ENTRIES` (:meth:`StatusBar.indicators`) and
the maintenance screen shows them. Entries the daemon has not reported (or all of its
entries while it is away) say "unknown" rather than guess. A long press on the hotline
opens the operator login.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from kivy.clock import Clock, ClockEvent
from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from .. import theme
from ..i18n import N_, _
from ..status import ALERT, NOT_REPORTED, OFF, OK, WARN, Indicator
from .surface import Surface

MARKS: Dict[str, str] = {OK: "√", WARN: "!", ALERT: "×", OFF: "–"}
COLOURS = {OK: theme.OK, WARN: theme.WARN, ALERT: theme.ALERT}
#: The mark's own colour on its circle (≥ 4.5:1 each).
MARK_TEXT = {ALERT: theme.ON_PRIMARY}
#: Seconds the kiosk id must be held to open the operator login: no citizen does it by chance.
LONG_PRESS = 3.0
ENTRIES = ("network", "ops", "ups", "paper", "devices")
#: The entries a citizen sees; the rest only on the maintenance screen.
CITIZEN_ENTRIES = ("network", "paper")
#: The national 12345 government-service hotline (政务服务便民热线).
HOTLINE = "12345"
TITLES = {
    "network": N_("Network"),
    "ops": N_("Ops link"),
    "ups": N_("Power"),
    "paper": N_("Paper"),
    "devices": N_("Devices"),
}


class StatusEntry(BoxLayout):
    mark = StringProperty("?")
    mark_colour = ListProperty(theme.BORDER)
    mark_text_colour = ListProperty(theme.PRIMARY_DARK)
    text = StringProperty("")


class StaffCorner(Label):
    """The hotline; held for :data:`LONG_PRESS` seconds it calls ``on_long_press``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_long_press: Callable[[], None] = lambda: None
        self._hold: Optional[ClockEvent] = None

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos):
            self._hold = Clock.schedule_once(lambda _dt: self.on_long_press(), LONG_PRESS)
            return True
        return bool(super().on_touch_down(touch))

    def on_touch_up(self, touch: Any) -> bool:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        return bool(super().on_touch_up(touch))


class StatusBar(Surface):
    hotline = StringProperty(HOTLINE)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._indicators: Dict[str, Indicator] = dict.fromkeys(ENTRIES, NOT_REPORTED)

    def show(self, name: str, indicator: Indicator) -> None:
        self._indicators[name] = indicator
        self.render()

    def render(self, *_args: Any) -> None:
        for name in CITIZEN_ENTRIES:
            entry: StatusEntry = self.ids[name]
            indicator = self._indicators[name]
            entry.mark = MARKS.get(indicator.level, "?")
            entry.mark_colour = COLOURS.get(indicator.level, theme.BORDER)
            entry.mark_text_colour = MARK_TEXT.get(indicator.level, theme.PRIMARY_DARK)
            entry.text = line(name, indicator)

    def entries(self) -> List[StatusEntry]:
        return [self.ids[name] for name in CITIZEN_ENTRIES]

    def indicators(self) -> List[Tuple[str, Indicator]]:
        """Every entry, for the maintenance screen, in :data:`ENTRIES` order."""
        return [(name, self._indicators[name]) for name in ENTRIES]


def line(name: str, indicator: Indicator) -> str:
    """An entry in words: "纸张 充足"."""
    return f"{_(TITLES[name])} {_(indicator.msgid).format(**dict(indicator.params))}"
