"""The UI-facing D-Bus API: names, connection and the error boundary.

Everything the Kivy UI (and ``govkioskctl``) learns from the daemon comes through here.
Interface names carry a version (``cn.govkiosk.Kiosk1``); an incompatible change gets
a new name, served next to the old one until the UI follows.

Interface modules in this package do not use ``from __future__ import annotations``:
dbus-next reads the D-Bus signatures (``'a(ssus)'``) from the annotations themselves.
"""

from __future__ import annotations

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


async def connect(address: str) -> MessageBus:
    """Connect to ``"system"``, ``"session"`` or an explicit bus address."""
    if address == "system":
        bus = MessageBus(bus_type=BusType.SYSTEM)
    elif address == "session":
        bus = MessageBus(bus_type=BusType.SESSION)
    else:
        bus = MessageBus(bus_address=address)
    return await bus.connect()


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
