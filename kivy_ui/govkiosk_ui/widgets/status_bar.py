"""The status bar every screen sits under (§7.3): kiosk id, daemon health, clock."""

from __future__ import annotations

import datetime
from typing import Any, Optional

from kivy.clock import Clock, ClockEvent
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from .. import theme
from ..i18n import _, clock_text
from ..status import DaemonStatus


class StatusBar(BoxLayout):
    kiosk_text = StringProperty("")
    health_text = StringProperty("")
    health_colour = ListProperty(theme.WARN)
    clock = StringProperty("")
    available = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.health_text = _("Connecting…")
        self._tick: Optional[ClockEvent] = None
        self._update_clock()

    def on_parent(self, _widget: Any, parent: Any) -> None:
        # Tick only while shown. Once a second keeps a minute display at most 1 s late.
        if parent is not None and self._tick is None:
            self._tick = Clock.schedule_interval(self._update_clock, 1.0)
        elif parent is None and self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _update_clock(self, *_args: Any) -> None:
        self.clock = clock_text(datetime.datetime.now())

    def show(self, status: DaemonStatus) -> None:
        self.available = status.available
        self.kiosk_text = _("Kiosk {kiosk_id}").format(kiosk_id=status.kiosk_id or "—")
        if not status.available:
            self.health_text = _("Service unavailable")
            self.health_colour = theme.ALERT
            return
        self.health_text = _("{running}/{total} services running").format(
            running=status.running, total=len(status.services)
        )
        self.health_colour = theme.OK if status.healthy else theme.WARN
