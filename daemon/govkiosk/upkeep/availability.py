"""Availability (pure): the share of a span the kiosk was in service.

The service records each transition as ``(time, state)``: ``in_service`` when the
daemon serves citizens, ``out_of_service`` when the power stages or a fault took it out,
``down`` when the daemon stopped (recorded at a clean stop, or at the next start from the
last heartbeat after a crash).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

IN_SERVICE = "in_service"
OUT_OF_SERVICE = "out_of_service"
DOWN = "down"
STATES = (IN_SERVICE, OUT_OF_SERVICE, DOWN)

Transition = Tuple[float, str]

DAY = 86400.0
SPANS: Dict[str, float] = {"24h": DAY, "30d": 30 * DAY}


def durations(transitions: Sequence[Transition], start: float, end: float) -> Dict[str, float]:
    """Seconds spent in each state between ``start`` and ``end``.

    ``transitions`` are in time order; before the first one nothing is known (not
    counted at all), so a kiosk installed yesterday is not 97 % down over 30 days.
    """
    spent = dict.fromkeys(STATES, 0.0)
    current: Optional[str] = None
    since = start
    for time, state in transitions:
        if time > end:
            break
        if current is not None:
            spent[current] += max(0.0, time - max(since, start))
        current, since = state, time
    if current is not None:
        spent[current] += max(0.0, end - max(since, start))
    return spent


def uptime_percent(transitions: Sequence[Transition], start: float, end: float) -> Optional[float]:
    """In service over the known part of the span, in percent; ``None`` if nothing is known."""
    spent = durations(transitions, start, end)
    known = sum(spent.values())
    if known <= 0:
        return None
    return 100.0 * spent[IN_SERVICE] / known
