"""The UI-facing D-Bus API: names, connection and the error boundary.

Everything the Kivy UI (and ``govkioskctl``) learns from the daemon comes through here.
Interface names carry a version (``cn.govkiosk.Kiosk1``); an incompatible change gets
a new name, served next to the old one until the UI follows.

Interface modules in this package do not use ``from __future__ import annotations``:
dbus-next reads the D-Bus signatures (``'a(ssus)'``) from the annotations themselves.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Awaitable, Callable, TypeVar

from dbus_next import BusType, DBusError
from dbus_next.aio import MessageBus

from ..errors import GovkioskError

_LOGGER = logging.getLogger(__name__)

BUS_NAME = "cn.govkiosk.Kiosk1"
OBJECT_PATH = "/cn/govkiosk/Kiosk1"
KIOSK_INTERFACE = "cn.govkiosk.Kiosk1"
ERROR_PREFIX = "cn.govkiosk.Error."
INTERNAL_ERROR = ERROR_PREFIX + "Internal"

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class _ClosingMessageBus(MessageBus):
    """dbus-next 0.2.3 leaves its socket open when the bus cannot be reached."""

    def _setup_socket(self) -> None:
        try:
            super()._setup_socket()
        except BaseException:
            release(self)
            raise


async def connect(address: str) -> MessageBus:
    """Connect to ``"system"``, ``"session"`` or an explicit bus address."""
    if address == "system":
        bus = _ClosingMessageBus(bus_type=BusType.SYSTEM)
    elif address == "session":
        bus = _ClosingMessageBus(bus_type=BusType.SESSION)
    else:
        bus = _ClosingMessageBus(bus_address=address)
    try:
        return await bus.connect()
    except BaseException:
        release(bus)
        raise


def release(bus: MessageBus) -> None:
    """Close the socket of a bus that is no longer connected.

    dbus-next 0.2.3 shuts its socket down on disconnect but never closes it (nor when
    ``connect()`` fails): a client that reconnects would leak a descriptor each time.
    """
    for resource in (getattr(bus, "_stream", None), getattr(bus, "_sock", None)):
        if resource is not None:
            resource.close()


async def close(bus: MessageBus, timeout: float = 1.0) -> None:
    """Disconnect, wait (bounded) for the connection to end, and close the socket.

    ``asyncio.wait`` does not raise what the disconnect future ends with (an error, or
    a cancellation by whoever awaited it before); only our own cancellation propagates,
    and the socket is closed either way.
    """
    bus.disconnect()
    try:
        await asyncio.wait({asyncio.ensure_future(bus.wait_for_disconnect())}, timeout=timeout)
    finally:
        release(bus)


def error_name(err: GovkioskError) -> str:
    """``UnknownServiceError`` → ``cn.govkiosk.Error.UnknownService``."""
    name = type(err).__name__
    return ERROR_PREFIX + (name[: -len("Error")] if name.endswith("Error") else name)


def guarded(fn: F) -> F:
    """The error boundary of a D-Bus method: no traceback ever reaches the caller.

    Our own errors become D-Bus errors named after their class with their message;
    anything else is logged here and answered with a generic internal error.
    """

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except DBusError:
            raise
        except GovkioskError as err:
            raise DBusError(error_name(err), str(err)) from None
        except Exception:
            _LOGGER.exception("D-Bus method %s failed", fn.__name__)
            raise DBusError(
                INTERNAL_ERROR, "internal error; the daemon's log has the details"
            ) from None

    return wrapper  # type: ignore[return-value]
