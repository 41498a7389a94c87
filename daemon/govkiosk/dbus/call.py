"""One D-Bus method call on a fresh connection, bounded in time.

For the daemon as a client: logind (power off, reboot), the UI's interface, and its own
API — ops acts through the same methods as the maintenance screen (``PrintTest``,
``OpenMaintenanceWindow``, ``SelfTest``), so each action has one code path and one set of
checks, whoever asks. A fresh connection per call stays independent of the daemon's own
connection, which may be reconnecting, and leaves no descriptor behind when it fails.
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Sequence

from dbus_next import Message, MessageType
from dbus_next.errors import AuthError, InvalidAddressError

from ..contract.connection import close, connect
from ..contract.names import BUS_NAME, OBJECT_PATH
from ..errors import GovkioskError
from ..timeouts import wait_for


class CallError(GovkioskError):
    """The call could not be made, or the other side answered with an error."""


async def call(
    address: str,
    interface: str,
    member: str,
    signature: str = "",
    body: Sequence[Any] = (),
    *,
    destination: str = BUS_NAME,
    path: str = OBJECT_PATH,
    timeout: float = 10.0,
) -> List[Any]:
    """Call ``interface.member`` on ``destination``; return the reply's body."""
    try:
        bus = await wait_for(connect(address), timeout)
    except (OSError, ValueError, AuthError, InvalidAddressError, asyncio.TimeoutError) as err:
        raise CallError(f"cannot reach the {address} bus: {err}") from err
    try:
        message = Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=list(body),
        )
        try:
            reply = await wait_for(bus.call(message), timeout)
        except asyncio.TimeoutError as err:
            raise CallError(f"{destination}: {member} did not answer within {timeout:g} s") from err
        if reply is None or reply.message_type is MessageType.ERROR:
            detail = reply.body[0] if reply is not None and reply.body else "no reply"
            name = reply.error_name if reply is not None else ""
            raise CallError(f"{destination}: {member}: {detail} ({name})")
        return list(reply.body)
    finally:
        await close(bus)
