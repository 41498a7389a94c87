"""``[evaluation]``: how long the usage and 好差评 counts are kept, and the frequent items.

::

    [evaluation]
    keep_days = 400          # counts older than this many days are deleted
    frequent_days = 90       # Session1.FrequentItems counts completed sessions this far back
    frequent_default = []    # item codes listed after the counted ones (a new kiosk: these)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..fields import setting
from ..items.catalogue import valid_code

#: Ten years: a bound on the table, whatever the configuration says.
MAX_DAYS = 3660


def _days(value: int) -> bool:
    return 1 <= value <= MAX_DAYS


def _codes(value: Tuple[str, ...]) -> bool:
    return len(value) <= 100 and all(valid_code(code) for code in value)


@dataclass(frozen=True)
class EvaluationSettings:
    #: Days the usage and 好差评 (rating) counts are kept; older days are deleted once a
    #: day. They hold no personal data.
    keep_days: int = setting(400, expect=f"a number of days from 1 to {MAX_DAYS}", check=_days)
    #: Days of completed sessions counted for the home screen's frequent items (常办事项).
    frequent_days: int = setting(90, expect=f"a number of days from 1 to {MAX_DAYS}", check=_days)
    #: Shown after the counted items (only those published and available), so a new
    #: kiosk's home screen is not empty; empty: the counted items only.
    frequent_default: Tuple[str, ...] = setting(
        (), expect="a list of at most 100 item codes", check=_codes
    )
