"""Consumables predicted before they run out (pure).

The receipt roll is measured in millimetres printed since the last refill (the receipt
driver estimates each printed receipt's length), the A4 tray in sheets printed since the
last refill. Either is *low* when less than ``warn_percent`` of a full one is predicted to
remain: the alarm comes while there is still paper, not when the printer reports it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple, Union

from .errors import UnknownConsumableError
from .settings import ConsumablesSettings

RECEIPT = "receipt"
A4 = "a4"
NAMES: Tuple[str, ...] = (RECEIPT, A4)
UNITS: Dict[str, str] = {RECEIPT: "mm", A4: "sheets"}


def check_name(name: str) -> str:
    if name not in NAMES:
        raise UnknownConsumableError(name)
    return name


def capacity(name: str, settings: ConsumablesSettings) -> int:
    check_name(name)
    return settings.receipt_roll_mm if name == RECEIPT else settings.a4_tray_sheets


@dataclass(frozen=True)
class Level:
    name: str
    used: float  #: mm or sheets since the last refill
    capacity: int  #: mm or sheets in a full roll or tray
    refilled: float  #: seconds since the epoch of the last refill; 0: never recorded
    warn_percent: int

    @property
    def remaining(self) -> float:
        return max(0.0, self.capacity - self.used)

    @property
    def remaining_percent(self) -> float:
        return 100.0 * self.remaining / self.capacity

    @property
    def low(self) -> bool:
        return self.remaining_percent < self.warn_percent

    def as_dict(self) -> Dict[str, Union[str, float, int, bool]]:
        return {
            "name": self.name,
            "unit": UNITS[self.name],
            "used": round(self.used, 1),
            "capacity": self.capacity,
            "remaining": round(self.remaining, 1),
            "remaining_percent": round(self.remaining_percent, 1),
            "low": self.low,
            "refilled": self.refilled,
        }


def level(name: str, used: float, refilled: float, settings: ConsumablesSettings) -> Level:
    return Level(name, used, capacity(name, settings), refilled, settings.warn_percent)


def crossed(before: Level, after: Level) -> bool:
    """Whether this use took the consumable below its threshold: alarm once, not per job."""
    return after.low and not before.low
