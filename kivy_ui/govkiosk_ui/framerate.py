"""The frame rate: full under a finger, lower while things only move, low when nothing does.

Kivy's loop wakes ``maxfps`` times a second whether or not anything changed: it polls
input, runs the clock and checks whether the window needs drawing. On home with
nothing moving that cost ~2–3 % of a core at 60/s, for a kiosk that stands idle most
of the day; and under Mesa's software rasteriser each drawn frame costs 12–25 ms of
CPU, so an animation nobody touches (the attract screen's pulse) at 60/s would take
most of a core. The governor keeps Kivy's full rate (``[graphics] maxfps``, 60) for
:data:`IDLE_AFTER` s after each touch; after that, :data:`MOTION_FPS` while frames are
still being drawn, and :data:`IDLE_FPS` once none was for :data:`IDLE_AFTER` s. A touch
restores the full rate at once, a drawn frame at least the motion rate. "Drawn" covers
whatever moves without each mover having to say so: an animation, a countdown, a
camera picture or a new screen all change the canvas, and Kivy draws only a canvas
that changed.

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
#: While something moves that nobody is touching (the attract screen's pulse, the card
#: animation, a countdown, a camera picture, polled at 15/s): smooth enough for slow
#: motion, well under half the drawing of the full rate (each frame costs ~12–25 ms of
#: CPU under llvmpipe). Kivy's pacing on asyncio wakes early: 15/s gives ~20 frames a
#: second, 10/s ~12.
MOTION_FPS = 15.0
#: Seconds without a touch (or a drawn frame) before the rate drops.
IDLE_AFTER = 2.0
#: How often the governor looks whether it is time to drop the rate.
CHECK_SECONDS = 0.5


class FrameRateGovernor:
    """Switches the clock between its full rate, :data:`MOTION_FPS` and :data:`IDLE_FPS`.

    Full while a touch is at most ``idle_after`` s old; else the motion rate while a
    frame was drawn in that time; else the idle rate. :meth:`start` binds it to the
    window's touches and flips; :attr:`idle` says whether the idle rate is in force.
    ``full_fps`` defaults to the clock's rate when :meth:`start` is called; ``now`` is
    the clock the quiet time is measured with.
    """

    def __init__(
        self,
        *,
        full_fps: Optional[float] = None,
        motion_fps: float = MOTION_FPS,
        idle_fps: float = IDLE_FPS,
        idle_after: float = IDLE_AFTER,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.full_fps = full_fps or 0.0
        self.motion_fps = motion_fps
        self.idle_fps = idle_fps
        self.idle_after = idle_after
        self._now = now
        self._touched = self._drawn = now()
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
            on_flip=self.drawn,
        )
        self._set(self.full_fps)
        self._touched = self._drawn = self._now()
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
                on_flip=self.drawn,
            )
            self._window = None
            self._set(self.full_fps)

    def wake(self, *_args: Any) -> bool:
        """A touch: the full rate, for at least :attr:`idle_after` s.

        Bound to the window's touch events; returns ``False`` to pass the touch on.
        """
        self._touched = self._drawn = self._now()
        self._set(self.full_fps)
        return False

    def drawn(self, *_args: Any) -> None:
        """A frame was drawn: at least the motion rate, for at least :attr:`idle_after` s."""
        self._drawn = self._now()
        if self.idle:
            self._set(self.motion_fps)

    def check(self, *_args: Any) -> None:
        """Step down once nothing was touched, then nothing drawn, for :attr:`idle_after` s."""
        now = self._now()
        if now - self._touched < self.idle_after:
            return
        self._set(self.idle_fps if now - self._drawn >= self.idle_after else self.motion_fps)

    def _set(self, fps: float) -> None:
        if Clock._max_fps != fps:
            _LOGGER.debug("frame rate: %g/s", fps)
            Clock._max_fps = fps
