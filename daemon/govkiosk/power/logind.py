"""Powering the machine off through systemd-logind, as a desktop's "shut down" does.

``org.freedesktop.login1.Manager.PowerOff(false)`` on the system bus: logind runs the
shutdown (stopping services in order, govkioskd among them); ``false`` means no
interactive authentication, so the daemon's user must be allowed by polkit
(``org.freedesktop.login1.power-off``), which the packaging grants.
"""

from __future__ import annotations

import asyncio
import logging

from dbus_next import Message, MessageType
from dbus_next.errors import AuthError, InvalidAddressError

from ..dbus import connect, release
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
        bus = await asyncio.wait_for(connect(address), timeout)
    except (OSError, ValueError, AuthError, InvalidAddressError, asyncio.TimeoutError) as err:
        raise PowerOffError(f"power: cannot reach logind on the {address} bus: {err}") from err
    try:
        call = Message(
            destination=LOGIND,
            path=LOGIND_PATH,
            interface=MANAGER,
            member="PowerOff",
            signature="b",
            body=[False],
        )
        try:
            reply = await asyncio.wait_for(bus.call(call), timeout)
        except asyncio.TimeoutError as err:
            raise PowerOffError(f"power: logind did not answer within {timeout:g} s") from err
        if reply is None or reply.message_type is MessageType.ERROR:
            detail = reply.body[0] if reply is not None and reply.body else "no reply"
            name = reply.error_name if reply is not None else ""
            raise PowerOffError(f"power: logind refused to power off: {name} {detail}".strip())
        _LOGGER.warning("power: logind is powering the kiosk off")
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()
        release(bus)  # a failed power-off is retried: leave no descriptor behind
