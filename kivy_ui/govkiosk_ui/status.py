"""What the UI knows about the daemon, as plain frozen values (no Kivy, no D-Bus).

The D-Bus client produces these; the screens only render them, so the client can be
tested without a display and the screens without a daemon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

RUNNING = "running"


@dataclass(frozen=True)
class ServiceRow:
    """One row of ``GetServices`` / one ``ServiceHealthChanged`` signal."""

    name: str
    state: str
    detail: str
    restarts: int

    @property
    def running(self) -> bool:
        return self.state == RUNNING


@dataclass(frozen=True)
class DaemonStatus:
    """The daemon as last seen.

    ``kiosk_id`` and ``kiosk_name`` are kept from the last successful ``GetInfo`` while
    the daemon is away, so staff can still read which kiosk they stand in front of.
    """

    available: bool
    kiosk_id: str = ""
    kiosk_name: str = ""
    services: Tuple[ServiceRow, ...] = ()

    @property
    def running(self) -> int:
        return sum(1 for s in self.services if s.running)

    @property
    def healthy(self) -> bool:
        return self.available and self.running == len(self.services)
