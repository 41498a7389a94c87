"""Refused commands, counted; what is written about them, sampled.

Anyone who can publish on a kiosk's command topic can send junk. Each refusal is
counted (telemetry carries the counts) and published on the event bus, but only the
first refusal of each reason in a window reaches the log and the ops log; the rest are
summed into one line when the window closes. A flood then costs the kiosk a counter
increment per message, and can neither drown the log nor evict the command history.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict

from ..bus import Event

#: Seconds between two written refusals of the same reason.
WINDOW = 60.0


@dataclass(frozen=True)
class CommandRefused(Event):
    """A command was refused; ``authenticated`` once its signature had verified."""

    reason: str
    authenticated: bool


class Refusals:
    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self.counts: Counter[str] = Counter()  #: every refusal since start, by reason
        self._written: Dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()
        self._opened = clock()

    def note(self, reason: str) -> bool:
        """Count one refusal; ``True`` if it is the one to write about in this window."""
        self.counts[reason] += 1
        now = self._clock()
        last = self._written.get(reason)
        if last is not None and now - last < self._window:
            self._suppressed[reason] += 1
            return False
        self._written[reason] = now
        return True

    def closed_window(self) -> Dict[str, int]:
        """The refusals not written about, once a window has passed since the last summary."""
        now = self._clock()
        if not self._suppressed or now - self._opened < self._window:
            return {}
        self._opened = now
        suppressed, self._suppressed = dict(self._suppressed), Counter()
        return suppressed
