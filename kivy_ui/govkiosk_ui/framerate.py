"""The frame rate: full while anything moves or a finger is on the glass, low when nothing does.

Kivy's loop wakes ``maxfps`` times a second whether or not anything changed: it polls
input, runs the clock and checks whether the window needs drawing. On home with
nothing moving that costs ~3 % of a core at 60 Hz, for a kiosk that stands idle most
of the day. The governor drops the rate to :data:`IDLE_FPS` once nothing has been
touched or drawn for :data:`IDLE_AFTER` seconds, and restores the full rate (Kivy's
``[graphics] maxfps``, 60 by default) on the first touch or drawn frame. "Drawn"
covers whatever moves without each mover having to say so: an animation, a
countdown, a camera frame or a new screen all change the canvas, and Kivy draws only
a canvas that changed.

The cost is the first touch after a quiet spell: it waits for the next slow tick, at
most ``1 / IDLE_FPS`` s; everything after it runs at the full rate.

The rate is the clock's ``_max_fps``: Kivy reads ``[graphics] maxfps`` once, when its
clock is made, and has no public setter; the attribute exists in Kivy 2.0–2.3.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from kivy.clock import Clock, ClockEvent

_LOGGER = logging.getLogger(__name__)

#: Low enough for the loop's polling to cost well under 1 % of a core, high enough that
#: a first touch is still answered within a tenth of a second or so.
IDLE_FPS = 10.0
#: Seconds without a touch or a drawn frame before the rate drops.
IDLE_AFTER = 2.0
#: How often the governor looks whether it is time to drop the rate.
CHECK_SECONDS = 0.5


class FrameRateGovernor:
    """Switches the clock between its full rate and :data:`IDLE_FPS`.

    :meth:`start` binds it to the window's touches and flips; :attr:`idle` says which
    rate is in force. ``full_fps`` defaults to the clock's rate when :meth:`start` is
    called; ``now`` is the clock the quiet time is measured with.
    """

    def __init__(
        self,
        *,
        full_fps: Optional[float] = None,
        idle_fps: float = IDLE_FPS,
        idle_after: float = IDLE_AFTER,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.full_fps = full_fps or 0.0
        self.idle_fps = idle_fps
        self.idle_after = idle_after
        self._now = now
        self._last_activity = now()
        self._window: Any = None
        self._check: Optional[ClockEvent] = None

    @property
    def idle(self) -> bool:
        return bool(Clock._max_fps == self.idle_fps)

    @property
    def fps(self) -> float:
        return float(Clock._max_fps)

    def start(self, window: Any) -> None:
        self._window = window
        if not self.full_fps:
            self.full_fps = self.fps
        window.bind(
            on_touch_down=self.wake,
            on_touch_move=self.wake,
            on_touch_up=self.wake,
            on_flip=self.wake,
        )
        self._set(self.full_fps)
        self._last_activity = self._now()
        self._check = Clock.schedule_interval(self.check, CHECK_SECONDS)

    def stop(self) -> None:
        if self._check is not None:
            self._check.cancel()
            self._check = None
        if self._window is not None:
            self._window.unbind(
                on_touch_down=self.wake,
                on_touch_move=self.wake,
                on_touch_up=self.wake,
                on_flip=self.wake,
            )
            self._window = None
            self._set(self.full_fps)

    def wake(self, *_args: Any) -> bool:
        """A touch or a drawn frame: the full rate, for at least :attr:`idle_after` s.

        Bound to the window's touch events; returns ``False`` to pass the touch on.
        """
        self._last_activity = self._now()
        if self.idle:
            self._set(self.full_fps)
        return False

    def check(self, *_args: Any) -> None:
        """Drop to the idle rate once nothing happened for :attr:`idle_after` s."""
        if not self.idle and self._now() - self._last_activity >= self.idle_after:
            self._set(self.idle_fps)

    def _set(self, fps: float) -> None:
        if Clock._max_fps != fps:
            _LOGGER.debug("frame rate: %g/s", fps)
            Clock._max_fps = fps
