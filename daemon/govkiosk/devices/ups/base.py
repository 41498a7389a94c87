"""What every UPS driver shares: publishing readings on change, and going stale."""

from __future__ import annotations

from typing import Optional

from ...bus import EventBus
from ...supervisor import Service
from .state import UpsState, UpsStateChanged


class UpsDriver(Service):
    """A supervised UPS driver; subclasses read the UPS and call :meth:`publish`."""

    #: Whether the UPS can be asked to test its battery this way.
    can_self_test = False

    def __init__(self, name: str, bus: EventBus) -> None:
        self.name = name
        self._bus = bus
        self.last: Optional[UpsState] = None

    def publish(self, state: UpsState) -> None:
        """Tell the kiosk about ``state`` if it differs from the last reading."""
        if state == self.last:
            return
        self.last = state
        self._bus.publish(UpsStateChanged(self.name, state, self.can_self_test))

    def mark_stale(self) -> None:
        """The last reading is no longer current (no data, no answer, no connection)."""
        if self.last is not None:
            self.publish(self.last.as_stale())

    async def stop(self) -> None:
        # Whoever listens must not go on trusting a reading nobody refreshes.
        self.mark_stale()
