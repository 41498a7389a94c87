"""What the kiosk knows about its UPS, whichever way it reached it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple, Union

from ...bus import Event

Value = Union[str, float, bool, Tuple[str, ...]]


@dataclass(frozen=True)
class UpsState:
    """One reading of the UPS.

    ``status`` keeps the raw NUT-style tokens (``OL``, ``OB``, ``LB``, ``FSD``, ``CAL`` …)
    including ones this code does not know; the flags are read from them. Figures the
    UPS does not give are ``None``. ``stale`` marks a reading that is no longer current
    (upsd said DATA-STALE, or the UPS stopped answering): the flags are the last known.
    """

    status: Tuple[str, ...] = ()
    charge: Optional[float] = None  #: battery charge, %
    runtime: Optional[float] = None  #: remaining runtime on battery, s
    load: Optional[float] = None  #: output load, % of rated
    input_voltage: Optional[float] = None
    output_voltage: Optional[float] = None
    battery_voltage: Optional[float] = None
    temperature: Optional[float] = None  #: °C
    source: str = ""  #: where the reading came from; never a password
    stale: bool = False

    @property
    def on_line(self) -> bool:
        return "OL" in self.status

    @property
    def on_battery(self) -> bool:
        return "OB" in self.status

    @property
    def low_battery(self) -> bool:
        return "LB" in self.status

    @property
    def fsd(self) -> bool:
        """Forced shutdown: the UPS (or the NUT primary) says power is about to go."""
        return "FSD" in self.status

    @property
    def self_test_running(self) -> bool:
        return "CAL" in self.status

    def as_stale(self) -> UpsState:
        return replace(self, stale=True)

    def as_dict(self) -> Dict[str, Value]:
        """Present fields only (for D-Bus ``a{sv}`` and telemetry)."""
        values: Dict[str, Value] = {
            "status": self.status,
            "on_line": self.on_line,
            "on_battery": self.on_battery,
            "low_battery": self.low_battery,
            "fsd": self.fsd,
            "self_test_running": self.self_test_running,
            "source": self.source,
            "stale": self.stale,
        }
        figures = {
            "charge": self.charge,
            "runtime": self.runtime,
            "load": self.load,
            "input_voltage": self.input_voltage,
            "output_voltage": self.output_voltage,
            "battery_voltage": self.battery_voltage,
            "temperature": self.temperature,
        }
        values.update({k: v for k, v in figures.items() if v is not None})
        return values


@dataclass(frozen=True)
class UpsStateChanged(Event):
    """A UPS driver read something new (published only on change)."""

    device_id: str
    state: UpsState
    can_self_test: bool


@dataclass(frozen=True)
class UpsSelfTestRequested(Event):
    """Ops or the UI asked the UPS ``device_id`` to test its battery (or stop testing)."""

    device_id: str
    cancel: bool = False
