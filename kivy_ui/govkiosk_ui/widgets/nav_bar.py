"""The top navigation bar (§7.3): home, back, where the citizen is, and the time.

On the screens where "home" and "back" lead nowhere (home itself, the attract and
out-of-service screens) they give way to the kiosk's mark, its name and its hall.
"""

from __future__ import annotations

import datetime
from typing import Any, Optional

from kivy.clock import Clock, ClockEvent
from kivy.properties import BooleanProperty, StringProperty

from ..i18n import clock_text
from .surface import Surface


class NavBar(Surface):
    where = StringProperty("")
    clock = StringProperty("")
    can_go_back = BooleanProperty(False)
    #: True on the screens "home" would not leave: the brand shows instead of the buttons.
    at_home = BooleanProperty(True)
    #: The hall the kiosk stands in (政务服务中心), or the kiosk's name.
    hall = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tick: Optional[ClockEvent] = None
        self.update_clock()

    def on_parent(self, _widget: Any, parent: Any) -> None:
        # Tick only while shown. Once a second keeps a minute display at most 1 s late.
        if parent is not None and self._tick is None:
            self._tick = Clock.schedule_interval(self.update_clock, 1.0)
        elif parent is None and self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def update_clock(self, *_args: Any) -> None:
        self.clock = clock_text(datetime.datetime.now())
