"""A step's time limit as the citizen sees it (WCAG 2.2.1, MIIT elderly-friendly spec).

The daemon owns the deadline and says how long is left in each state it sends; the UI
counts down from there on its own clock, warns when :data:`WARN_AT` seconds are left
(at least 20 s before the end, so "more time" can still be found and pressed), and
ends the session when the count reaches zero. Pure: the clock is passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Warn ("Need more time?") this long before the end: ≥ 20 s (WCAG 2.2.1).
WARN_AT = 30.0


@dataclass(frozen=True)
class Countdown:
    deadline: float  #: on the monotonic clock; ``inf`` when the step has no limit

    @classmethod
    def start(cls, seconds_left: float, now: float) -> Countdown:
        return cls(now + seconds_left if seconds_left >= 0 else math.inf)

    @property
    def limited(self) -> bool:
        return self.deadline != math.inf

    def left(self, now: float) -> float:
        return max(0.0, self.deadline - now)

    def shown(self, now: float) -> int:
        """Whole seconds to show: rounded up, so "0" appears only at the end."""
        return math.ceil(self.left(now)) if self.limited else -1

    def warning(self, now: float) -> bool:
        return self.limited and self.left(now) <= WARN_AT

    def expired(self, now: float) -> bool:
        return self.limited and self.left(now) <= 0
