"""``[selftest]`` and ``[consumables]``: when the daily self-test runs and what it expects;
how much paper a full receipt roll and a full A4 tray hold.

::

    [selftest]
    time = "03:30"          # local time of day the self-test runs (when no one is served)
    retry = 600             # seconds before trying again while the kiosk is busy
    disk_min_mb = 500       # free space the state directory's disk must keep
    ups_battery_test = false  # also run the UPS's quick battery test (on mains only)
    ups_battery_limit = 120   # seconds the battery test may take to report

    [consumables]
    receipt_roll_mm = 80000 # paper on a new receipt roll
    a4_tray_sheets = 500    # sheets in a full A4 tray
    warn_percent = 10       # alarm when less than this is predicted to remain
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple

from ..fields import seconds, setting

_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def time_of_day(value: str) -> Tuple[int, int]:
    """``"03:30"`` → ``(3, 30)``; the setting's check guarantees the form."""
    match = _TIME.fullmatch(value)
    if match is None:
        raise ValueError(f"not a time of day: {value!r}")
    return int(match.group(1)), int(match.group(2))


def _is_time(value: str) -> bool:
    return isinstance(value, str) and _TIME.fullmatch(value) is not None


@dataclass(frozen=True)
class SelfTestSettings:
    #: The local time of day the daily self-test runs (services, device drivers, printers, UPS,
    #: cameras, free disk); pick an hour the hall is closed.
    time: str = setting("03:30", expect='a time of day "HH:MM" (24 h)', check=_is_time)
    #: Seconds before trying the self-test again while a citizen is being served.
    retry: float = seconds(600.0)
    #: The free space, in MB, the state directory's disk must keep; less fails the self-test's disk
    #: check (an alarm to ops).
    disk_min_mb: int = setting(
        500, expect="a number of megabytes from 0 to 10000000", check=lambda v: 0 <= v <= 10**7
    )
    #: The UPS's quick battery test (NUT ``test.battery.start.quick``, Megatec ``T``): it
    #: runs the kiosk on battery for seconds, so it is off unless chosen, and only on mains.
    ups_battery_test: bool = False
    #: How long the daily battery test may take to report its result before the self-test
    #: records it as not answered; raise it for a UPS whose quick test runs longer.
    ups_battery_limit: float = seconds(120.0)


@dataclass(frozen=True)
class ConsumablesSettings:
    #: The paper on a new receipt roll, in mm (an 80 m roll: 80000); printed receipts' lengths are
    #: counted against it.
    receipt_roll_mm: int = setting(
        80000,
        expect="a paper length in mm from 1000 to 1000000",
        check=lambda v: 1000 <= v <= 10**6,
    )
    #: The sheets in a full A4 tray; printed pages are counted against it.
    a4_tray_sheets: int = setting(
        500, expect="a number of sheets from 10 to 10000", check=lambda v: 10 <= v <= 10000
    )
    #: An alarm (receipt_low, a4_low) is raised when less than this percentage of a full roll or
    #: tray is predicted to remain, so staff refill before the printer runs out.
    warn_percent: int = setting(
        10, expect="a percentage from 1 to 90", check=lambda v: 1 <= v <= 90
    )
