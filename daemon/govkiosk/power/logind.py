"""Powering the machine off through systemd-logind, as a desktop's "shut down" does.

``org.freedesktop.login1.Manager.PowerOff(false)`` on the system bus: logind runs the
shutdown (stopping services in order, govkioskd among them); ``false`` means no
interactive authentication, so the daemon's user must be allowed by polkit
(``org.freedesktop.login1.power-off``), which the packaging grants.
"""

from __future__ import annotations

import logging

from ..dbus.call import CallError, call
from ..errors import GovkioskError

_LOGGER = logging.getLogger(__name__)

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"


class PowerOffError(GovkioskError):
    """logind could not be reached or refused to power off."""


async def power_off(address: str = "system", timeout: float = 10.0) -> None:
    """Ask logind on the bus at ``address`` to power off now."""
    try:
        await call(
            address,
            MANAGER,
            "PowerOff",
            "b",
            [False],
            destination=LOGIND,
            path=LOGIND_PATH,
            timeout=timeout,
        )
    except CallError as err:
        raise PowerOffError(f"power: logind did not power off: {err}") from err
    _LOGGER.warning("power: logind is powering the kiosk off")
