"""The attract screen: after a while untouched, when the person leaves, and out of it again.

``cn.govkiosk.Presence1``'s ``PersonArrived`` wakes the kiosk; ``PersonLeft`` and
:data:`IDLE_SECONDS` without a touch send it to rest, but only from the screens in
:data:`IDLE_SCREENS` and never during a session: there the daemon waits out its
walk-away grace (a citizen bending down is still there), then ends and wipes the
session, and the UI follows its signal.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, List

from govkiosk.contract.names import PRESENCE_INTERFACE

from ..signals import Routes
from .frame import Frame

_LOGGER = logging.getLogger(__name__)

#: Untouched this long outside a session, the kiosk returns to its attract screen.
IDLE_SECONDS = 90.0
#: Screens the idle timer may leave for the attract screen.
IDLE_SCREENS = ("home", "frequent", "item", "help", "maintenance_login", "maintenance")


class IdleController:
    def __init__(
        self,
        frame: Frame,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._frame = frame
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._touched = clock()

    def routes(self) -> Routes:
        return {
            (PRESENCE_INTERFACE, "PersonArrived"): self._person_arrived,
            (PRESENCE_INTERFACE, "PersonLeft"): self._person_left,
        }

    def touched(self, *_args: Any) -> bool:
        """A touch anywhere, or a new screen: the idle time starts again.

        Bound to the window's ``on_touch_down``; returns ``False`` to pass the touch on.
        """
        self._touched = self._clock()
        return False

    def check(self, _dt: float) -> None:
        """Called every second: rest once untouched for long enough."""
        frame = self._frame
        if frame.in_session() or frame.current not in IDLE_SCREENS:
            return
        if self._clock() - self._touched >= self._idle_seconds:
            _LOGGER.info("idle for %g s: attract screen", self._idle_seconds)
            frame.rest()

    def _person_arrived(self, _body: List[Any]) -> None:
        self._frame.wake()

    def _person_left(self, _body: List[Any]) -> None:
        frame = self._frame
        if not frame.in_session() and frame.current in IDLE_SCREENS:
            frame.rest()
