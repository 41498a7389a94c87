"""The ``[maintenance]`` configuration section."""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import positive, setting
from .pin import is_pin_hash


def _pin_hash(value: str) -> bool:
    return value == "" or is_pin_hash(value)


@dataclass(frozen=True)
class MaintenanceSettings:
    """Who may open the maintenance screen, and for how long."""

    #: ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` from ``python -m govkiosk.maintenance.pin``;
    #: empty (the default) keeps the maintenance screen closed.
    pin_hash: str = setting(
        "", expect="empty or a hash made by `python -m govkiosk.maintenance.pin`", check=_pin_hash
    )
    #: A login lasts this long; the screen returns to the citizen's home after it.
    login_minutes: float = setting(10.0, expect="a number of minutes > 0", check=positive)
    #: Wrong PINs in a row before logins are refused for ``lockout_seconds``.
    max_failures: int = setting(5, expect="a number > 0", check=positive)
    lockout_seconds: float = setting(300.0, expect="a number of seconds > 0", check=positive)
    #: How many recent alarms the maintenance screen can show.
    alarms_kept: int = setting(50, expect="a number > 0", check=positive)
