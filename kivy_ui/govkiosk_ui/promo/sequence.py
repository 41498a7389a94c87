"""Which entry plays next: pure, the clock passed in.

The entries active at the moment of asking play in the playlist's order, in a loop: after
an entry comes the next one *in the playlist* that is active now, so an entry that joins
(its window opens) takes its place in the order, and one that leaves is skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Optional

from govkiosk.contract.promo import Entry, Playlist


class Sequence:
    def __init__(self, playlist: Playlist, clock: Callable[[], datetime] = datetime.now) -> None:
        self.playlist = playlist
        self._clock = clock
        self._last: Optional[int] = None

    def next(self) -> Optional[Entry]:
        """The entry to show now; ``None`` while no entry is active."""
        now = self._clock()
        entries = self.playlist.entries
        start = 0 if self._last is None else self._last + 1
        for step in range(len(entries)):
            index = (start + step) % len(entries)
            if entries[index].active(now):
                self._last = index
                return entries[index]
        return None
