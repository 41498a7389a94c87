"""The ``[maintenance]`` configuration section."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from ..fields import positive, setting
from .pin import is_pin_hash


def _pin_hash(value: str) -> bool:
    return value == "" or is_pin_hash(value)


def _date(value: str) -> bool:
    if value == "":
        return True
    try:
        datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return len(value) == 10


def _days(value: int) -> bool:
    return value >= 0


@dataclass(frozen=True)
class MaintenanceSettings:
    """Who may open the maintenance screen, and for how long."""

    #: ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` from ``python -m govkiosk.maintenance.pin``;
    #: empty (the default) keeps the maintenance screen closed.
    pin_hash: str = setting(
        "", expect="empty or a hash made by `python -m govkiosk.maintenance.pin`", check=_pin_hash
    )
    #: The day ``pin_hash`` was made (``python -m govkiosk.maintenance.pin`` prints it too);
    #: empty: unknown, so the PIN's age is not enforced and an alarm asks for the date.
    #: A PIN changed on the kiosk (``Maintenance1.ChangePin``) is kept in the state directory
    #: with its own date; the newer of the two is in force.
    pin_set: str = setting("", expect="empty or a date YYYY-MM-DD", check=_date)
    #: A PIN older than this many days no longer opens the maintenance screen; it can only
    #: be changed (§8 f, periodic password changes). 0: it never expires.
    pin_max_age_days: int = setting(90, expect="a whole number of days >= 0", check=_days)
    #: An alarm warns this many days before the PIN expires.
    pin_warn_days: int = setting(14, expect="a whole number of days >= 0", check=_days)
    #: A login lasts this long; the screen returns to the citizen's home after it.
    login_minutes: float = setting(10.0, expect="a number of minutes > 0", check=positive)
    #: Wrong PINs in a row before logins are refused for ``lockout_seconds``.
    max_failures: int = setting(5, expect="a number > 0", check=positive)
    #: After `max_failures` wrong PINs in a row, maintenance logins (and PIN changes) are refused
    #: for this many seconds; each further lockout doubles it, up to a day.
    lockout_seconds: float = setting(300.0, expect="a number of seconds > 0", check=positive)
    #: How many recent alarms the maintenance screen can show.
    alarms_kept: int = setting(50, expect="a number > 0", check=positive)
