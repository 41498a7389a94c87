"""The daemon's D-Bus plumbing: the error boundary of every method it serves.

The connection itself is :mod:`govkiosk.contract.connection` (the UI holds one the same
way), the names are :mod:`govkiosk.contract.names`; :mod:`.service` keeps the daemon's
connection up and exports the interfaces, :mod:`.call` makes one call as a client. The
interfaces are the bus faces in :mod:`govkiosk.api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, Callable, Iterator, TypeVar

from dbus_next import DBusError

from ..contract.names import ERROR_PREFIX, INTERNAL_ERROR
from ..errors import GovkioskError

_LOGGER = logging.getLogger(__name__)


F = TypeVar("F", bound=Callable[..., Any])


def error_name(err: GovkioskError) -> str:
    """``UnknownServiceError`` → ``cn.govkiosk.Error.UnknownService``."""
    name = type(err).__name__
    return ERROR_PREFIX + (name[: -len("Error")] if name.endswith("Error") else name)


@contextlib.contextmanager
def _boundary(method_name: str) -> Iterator[None]:
    try:
        yield
    except DBusError:
        raise
    except GovkioskError as err:
        raise DBusError(error_name(err), str(err)) from None
    except Exception:
        _LOGGER.exception("D-Bus method %s failed", method_name)
        raise DBusError(
            INTERNAL_ERROR, "internal error; the daemon's log has the details"
        ) from None


def guarded(fn: F) -> F:
    """The error boundary of a D-Bus method: no traceback ever reaches the caller.

    Our own errors become D-Bus errors named after their class with their message;
    anything else is logged here and answered with a generic internal error.

    A plain (not ``async``) method stays plain: dbus-next then sends its reply in the
    same step that computed it, so no signal emitted meanwhile can overtake it. A
    snapshot that signals keep current (``GetServices``) must be one.
    """
    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _boundary(fn.__name__):
                return await fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        with _boundary(fn.__name__):
            return fn(*args, **kwargs)

    return plain  # type: ignore[return-value]
