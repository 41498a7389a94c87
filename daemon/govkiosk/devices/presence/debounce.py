"""Turning flickering presence readings into arrivals and departures.

Sensors flicker: a radar loses a motionless person for a frame, a PIR re-triggers, a
passer-by crosses the beam. A change counts only once the new reading has *held*:
presence for ``arrive_after`` seconds, absence for ``leave_after`` seconds. Time is
passed in, so the rule is tested without sleeping.
"""

from __future__ import annotations

from typing import Optional


class Debouncer:
    def __init__(self, arrive_after: float, leave_after: float) -> None:
        self._hold = {True: arrive_after, False: leave_after}
        self.present = False  #: the debounced state
        self._raw = False
        self._since = 0.0

    def update(self, raw: bool, now: float) -> Optional[bool]:
        """Record a reading taken at ``now``; return the new state if it just changed."""
        if raw != self._raw:
            self._raw = raw
            self._since = now
        return self.poll(now)

    def poll(self, now: float) -> Optional[bool]:
        """Return the new state if the pending change has held long enough by ``now``."""
        if self._raw != self.present and now - self._since >= self._hold[self._raw]:
            self.present = self._raw
            return self.present
        return None

    def deadline(self) -> Optional[float]:
        """When a pending change will take effect if nothing else is read, else None."""
        if self._raw == self.present:
            return None
        return self._since + self._hold[self._raw]
