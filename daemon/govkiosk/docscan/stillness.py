"""When to capture: the page has been placed and has settled (pure; the clock passed in).

The camera loop feeds :class:`Steadiness` what :func:`~.page.find_page` saw in each
frame (the page's corners or None) with the frame's time. The page is *steady* once no
corner has moved more than ``tolerance`` × the page's diagonal for ``hold`` seconds;
a page that moves starts the hold again, a frame without the page ends it. :meth:`feed`
answers True once per placement — the moment to capture — and stays quiet while that
page lies there: a new page must appear first, that is the page must leave (no page for
``gone_after`` seconds) or move to a new place (more than ``new_page`` × its diagonal
from where it was captured), so a citizen who leaves a page on the desk is not scanned
twice.
"""

from __future__ import annotations

from typing import Optional

from .quad import Quad
from .settings import DocScanSettings


class Steadiness:
    def __init__(
        self,
        hold: float = 0.8,
        tolerance: float = 0.01,
        gone_after: float = 0.5,
        new_page: float = 0.15,
    ) -> None:
        if hold <= 0 or tolerance <= 0 or gone_after <= 0 or new_page <= 0:
            raise ValueError("hold, tolerance, gone_after and new_page must be > 0")
        self.hold = hold
        self.tolerance = tolerance
        self.gone_after = gone_after
        self.new_page = new_page
        self._anchor: Optional[Quad] = None  #: where the page has lain since _since
        self._since = 0.0
        self._seen: Optional[float] = None  #: when a page was last seen
        self._captured: Optional[Quad] = None  #: the placement already captured
        self._now: Optional[float] = None

    @classmethod
    def from_settings(cls, settings: DocScanSettings) -> Steadiness:
        return cls(
            settings.steady_hold,
            settings.steady_tolerance,
            settings.steady_gone_after,
            settings.steady_new_page,
        )

    def feed(self, quad: Optional[Quad], now: float) -> bool:
        """Record one frame's finding at ``now`` (seconds, never decreasing); True when the
        page has just become steady and this placement was not captured yet."""
        if self._now is not None and now < self._now:
            raise ValueError(f"time went backwards: {now} after {self._now}")
        self._now = now
        if quad is None:
            self._anchor = None
            if self._seen is not None and now - self._seen >= self.gone_after:
                self._captured = None  # the page has left: the next one is new
            return False
        self._seen = now
        captured = self._captured
        if captured is not None and quad.distance(captured) > self.new_page * captured.diagonal:
            self._captured = None  # moved to a new place, or another page
        anchor = self._anchor
        if anchor is None or quad.distance(anchor) > self.tolerance * anchor.diagonal:
            self._anchor, self._since = quad, now
            return False
        if self._captured is None and now - self._since >= self.hold:
            self._captured = anchor
            return True
        return False

    @property
    def steady(self) -> bool:
        """Whether the page has lain still for the hold time (captured or not)."""
        return (
            self._anchor is not None
            and self._now is not None
            and self._now - self._since >= self.hold
        )

    @property
    def armed(self) -> bool:
        """Whether a steady page would be captured (nothing captured since the last page
        left or moved)."""
        return self._captured is None

    def progress(self) -> float:
        """How far through the hold the page is, 0 to 1 (for a countdown ring); 0 when
        there is no page or it was already captured."""
        if self._anchor is None or self._now is None or self._captured is not None:
            return 0.0
        return min(1.0, (self._now - self._since) / self.hold)
