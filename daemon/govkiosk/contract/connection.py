"""Holding a D-Bus connection: connect, disconnect without leaking, back off, and read
values off it (``plain``).

Both ends use it: the daemon for the bus it serves on and the calls it makes, the UI for
following the daemon.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from dbus_next import BusType, Message, Variant
from dbus_next.aio import MessageBus

from .outcomes import count_as_seen


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: how long to wait after ``failures`` failures in a row."""

    initial: float = 1.0
    maximum: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.maximum, self.initial * 2 ** max(0, failures - 1)))


class _AnsweredError:
    """A method call's reply, through which a method's error ends where it is answered.

    dbus-next 0.2.3 answers a method that raised with an error reply, then lets the
    error escape (its reply context's ``__exit__`` drops the "handled" result of its own
    ``_exit``): the event loop logged every refusal a caller was properly given as an
    unhandled error, with a traceback.
    """

    def __init__(self, reply: Any) -> None:
        self._reply = reply

    def __enter__(self) -> _AnsweredError:
        return self

    def __call__(self, message: Any) -> None:
        self._reply(message)

    def __exit__(self, *exc_info: Any) -> bool:
        return bool(self._reply._exit(*exc_info))

    def send_error(self, err: BaseException) -> None:
        self._reply.send_error(err)


class _MessageBus(MessageBus):
    """dbus-next 0.2.3's bus, mended where it leaks: its socket when the bus cannot be
    reached, and errors it reports to nobody but the event loop's log."""

    def _setup_socket(self) -> None:
        try:
            super()._setup_socket()
        except BaseException:
            release(self)
            raise

    def _send_reply(self, msg: Any) -> Any:
        return _AnsweredError(super()._send_reply(msg))

    def send(self, msg: Message) -> asyncio.Future[None]:
        """dbus-next hands back a future for each message it writes, which its signals and
        replies drop: one that could not be written as the bus went away left its error
        unread. Whoever awaits the future still gets the error."""
        written: asyncio.Future[None] = super().send(msg)
        count_as_seen(written)
        return written


async def connect(address: str) -> MessageBus:
    """Connect to ``"system"``, ``"session"`` or an explicit bus address."""
    if address == "system":
        bus = _MessageBus(bus_type=BusType.SYSTEM)
    elif address == "session":
        bus = _MessageBus(bus_type=BusType.SESSION)
    else:
        bus = _MessageBus(bus_address=address)
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
    a cancellation by whoever awaited it before), and that error is taken as seen:
    only our own cancellation propagates, and the socket is closed either way.
    """
    bus.disconnect()
    try:
        await asyncio.wait({disconnected(bus)}, timeout=timeout)
    finally:
        release(bus)


def disconnected(bus: MessageBus) -> asyncio.Future[None]:
    """A task that ends when ``bus`` does, with the error it was lost to, if any.

    The error counts as seen even if nobody awaits the task any more (a caller that
    was cancelled, a bounded wait that gave up), so the event loop does not log it
    as never retrieved.
    """
    ended: asyncio.Future[None] = asyncio.ensure_future(bus.wait_for_disconnect())
    count_as_seen(ended)
    return ended


def plain(value: Any) -> Any:
    """D-Bus values without their ``Variant`` wrappers, at any depth (``a{sv}`` → dict)."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
