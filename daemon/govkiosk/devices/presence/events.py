"""What the presence driver tells the rest of the daemon. Presence only: no personal data."""

from __future__ import annotations

from dataclasses import dataclass

from ...bus import Event


@dataclass(frozen=True)
class PersonArrived(Event):
    """Someone has stood in front of the kiosk for ``arrive_after`` seconds."""

    device: str


@dataclass(frozen=True)
class PersonLeft(Event):
    """Nobody has been in front of the kiosk for ``leave_after`` seconds."""

    device: str
