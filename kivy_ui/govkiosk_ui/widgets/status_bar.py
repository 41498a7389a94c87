"""The status bar every screen sits above (§7.3): network, ops link, UPS, paper, devices, kiosk id.

Each entry is a mark (√ ! × – ?) and words as well as a colour. Entries the daemon has
not reported (or all of its entries while it is away) say "unknown" rather than guess;
the network and the ops link come from ``cn.govkiosk.Ops1``. A long press on the kiosk
id opens the operator login.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

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


class KioskIdLabel(Label):
    """The kiosk id; held for :data:`LONG_PRESS` seconds it calls ``on_long_press``."""

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
    kiosk_id = StringProperty("—")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._indicators: Dict[str, Indicator] = dict.fromkeys(ENTRIES, NOT_REPORTED)

    def show(self, name: str, indicator: Indicator) -> None:
        self._indicators[name] = indicator
        self.render()

    def render(self, *_args: Any) -> None:
        for name, indicator in self._indicators.items():
            entry: StatusEntry = self.ids[name]
            entry.mark = MARKS.get(indicator.level, "?")
            entry.mark_colour = COLOURS.get(indicator.level, theme.BORDER)
            entry.mark_text_colour = MARK_TEXT.get(indicator.level, theme.PRIMARY_DARK)
            detail = _(indicator.msgid).format(**dict(indicator.params))
            entry.text = f"{_(TITLES[name])} {detail}"

    def entries(self) -> List[StatusEntry]:
        return [self.ids[name] for name in ENTRIES]
