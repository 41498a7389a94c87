"""The UI's only link to the daemon: ``cn.govkiosk.Kiosk1`` over D-Bus (dbus-next).

A visible state machine, in the manner of aioesphomeapi's reconnect logic:

``connecting`` → (bus reached) → ``waiting for the daemon`` → (the daemon's name has an
owner) → ``loading`` (``GetInfo`` + ``GetServices``) → ``available`` → (the name loses
its owner) → ``waiting for the daemon`` … and from any state, when the bus itself goes
away, back to ``connecting`` after a capped exponential backoff.

The daemon's comings and goings are seen through the bus's ``NameOwnerChanged`` signal,
so no polling is needed while the bus is up. Calls go to the owner's unique name, and
health signals are accepted only from it: a daemon that restarts is a new peer, and a
late signal from the old one cannot overwrite the new one's state.

Every change is handed to ``on_status`` as a :class:`~govkiosk_ui.status.DaemonStatus`;
every other signal the daemon sends on its object (session, power, printer, presence,
card reader) goes to ``on_signal`` as ``(interface, member, body)``, and :meth:`call`
calls any of its methods — the screens never see a D-Bus object. ``on_bus`` is awaited
on every new connection, before the daemon is looked for: what the UI serves itself
(``cn.govkiosk.UI1``, :mod:`~govkiosk_ui.remote`) is exported there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from dbus_next import DBusError, Message, MessageType
from dbus_next.aio import MessageBus
from dbus_next.errors import AuthError, InvalidAddressError

from govkiosk.contract.connection import Backoff, connect, disconnected, plain, release
from govkiosk.contract.names import BUS_NAME, KIOSK_INTERFACE, OBJECT_PATH

from .errors import UiError
from .model import KioskInfo
from .status import DaemonStatus, ServiceRow

_LOGGER = logging.getLogger(__name__)

DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES_INTERFACE = "org.freedesktop.DBus.Properties"
NAME_HAS_NO_OWNER = "org.freedesktop.DBus.Error.NameHasNoOwner"

#: The daemon's arrival, departure and replacement.
OWNER_RULE = (
    f"type='signal',sender='{DBUS_NAME}',interface='{DBUS_NAME}',"
    f"member='NameOwnerChanged',arg0='{BUS_NAME}'"
)
#: Every signal on the kiosk's object; the sender is checked against the current owner.
SIGNALS_RULE = f"type='signal',path='{OBJECT_PATH}'"

StatusCallback = Callable[[DaemonStatus], None]
SignalCallback = Callable[[str, str, List[Any]], None]
BusCallback = Callable[[MessageBus], Awaitable[None]]


class DaemonAwayError(UiError):
    """A call while the daemon is not on the bus; the screens show "unavailable" meanwhile."""


#: What :meth:`DaemonClient.call` raises when the daemon refuses, is away or is too slow.
CallErrors = (DBusError, DaemonAwayError, asyncio.TimeoutError)


def _ignore_signal(_interface: str, _member: str, _body: List[Any]) -> None:
    pass


async def _serve_nothing(_bus: MessageBus) -> None:
    pass


class DaemonClient:
    """Follows the daemon for as long as :meth:`run` runs (cancel it to stop)."""

    def __init__(
        self,
        address: str,
        on_status: StatusCallback,
        on_signal: SignalCallback = _ignore_signal,
        *,
        backoff: Backoff = Backoff(0.5, 10.0),  # noqa: B008 - frozen, shared safely
        call_timeout: float = 5.0,
        on_bus: BusCallback = _serve_nothing,
    ) -> None:
        self._address = address
        self._on_status = on_status
        self._on_signal = on_signal
        self._on_bus = on_bus
        self._backoff = backoff
        self._call_timeout = call_timeout
        self._bus: Optional[MessageBus] = None
        self._owner: Optional[str] = None
        self._loaded = False
        self._kiosk_id = ""
        self._kiosk_name = ""
        self._info = KioskInfo()
        self._services: Dict[str, ServiceRow] = {}
        #: The serial of the ``GetServices`` call in flight: its reply is applied by
        #: :meth:`_on_message`, in its place among the daemon's signals.
        self._snapshot_serial: Optional[int] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        self._last: Optional[DaemonStatus] = None

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                bus = await connect(self._address)
            except (OSError, ValueError, AuthError, InvalidAddressError) as err:
                failures += 1
                delay = self._backoff.delay(failures)
                log = _LOGGER.warning if failures == 1 else _LOGGER.debug
                log("bus %s: unreachable (%s); retrying in %g s", self._address, err, delay)
                self._publish()
                await asyncio.sleep(delay)
                continue
            failures = 0
            _LOGGER.info("bus %s: connected", self._address)
            try:
                await self._follow(bus)
            finally:
                self._forget_daemon()
                await self._hang_up(bus)
            _LOGGER.warning("bus %s: connection lost", self._address)
            self._publish()

    async def _follow(self, bus: MessageBus) -> None:
        """Track the daemon on ``bus`` until the bus connection ends."""
        self._bus = bus
        bus.add_message_handler(self._on_message)
        try:
            for rule in (OWNER_RULE, SIGNALS_RULE):
                await self._bus_call(bus, "AddMatch", rule)
            await self._on_bus(bus)
            try:
                reply = await self._bus_call(bus, "GetNameOwner", BUS_NAME)
            except DBusError as err:
                if err.type != NAME_HAS_NO_OWNER:
                    raise
                _LOGGER.info("%s: not on the bus yet; waiting for it", BUS_NAME)
                self._publish()
            else:
                self._daemon_appeared(str(reply[0]))
            # Shielded: cancelling this task must not cancel dbus-next's own future.
            await asyncio.shield(disconnected(bus))
        except (DBusError, asyncio.TimeoutError) as err:
            _LOGGER.warning("bus %s: %s", self._address, err)
        except (OSError, EOFError) as err:
            _LOGGER.debug("bus %s: disconnected: %s", self._address, err)
        finally:
            bus.remove_message_handler(self._on_message)
            self._bus = None

    async def _hang_up(self, bus: MessageBus) -> None:
        try:
            if bus.connected:
                bus.disconnect()
                await asyncio.wait_for(asyncio.shield(disconnected(bus)), self._call_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - how it ended no longer matters
            _LOGGER.debug("bus %s: closed: %s", self._address, err)
        finally:
            release(bus)

    def _on_message(self, msg: Message) -> None:
        if msg.message_type is MessageType.METHOD_RETURN:
            if msg.reply_serial == self._snapshot_serial and msg.sender == self._owner:
                self._apply_snapshot(msg.body[0])
            return
        if msg.message_type is not MessageType.SIGNAL:
            return
        if msg.member == "NameOwnerChanged" and msg.sender == DBUS_NAME:
            name, _old, new = msg.body
            if name != BUS_NAME:
                return
            self._forget_daemon()
            if new:
                self._daemon_appeared(new)
            else:
                _LOGGER.warning("%s: left the bus", BUS_NAME)
            self._publish()
        elif msg.sender != self._owner or msg.path != OBJECT_PATH:
            return
        elif msg.member == "ServiceHealthChanged" and msg.interface == KIOSK_INTERFACE:
            name, state, detail, restarts = msg.body
            self._services[name] = ServiceRow(name, state, detail, int(restarts))
            if self._loaded:
                self._publish()
        elif self._loaded:
            self._on_signal(msg.interface or "", msg.member or "", plain(list(msg.body)))

    def _daemon_appeared(self, owner: str) -> None:
        if self._bus is None:
            return
        _LOGGER.info("%s: on the bus as %s", BUS_NAME, owner)
        self._owner = owner
        task = asyncio.ensure_future(self._load(self._bus, owner))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forget_daemon(self) -> None:
        self._owner = None
        self._loaded = False
        self._services = {}
        self._snapshot_serial = None
        for task in list(self._tasks):
            task.cancel()

    async def _load(self, bus: MessageBus, owner: str) -> None:
        """Read the daemon's identity and health; retry while it stays the same peer."""
        failures = 0
        while self._owner == owner:
            try:
                info = await self._kiosk_call(bus, owner, "GetInfo")
                services = Message(
                    destination=owner,
                    path=OBJECT_PATH,
                    interface=KIOSK_INTERFACE,
                    member="GetServices",
                    serial=bus.next_serial(),
                )
                self._snapshot_serial = services.serial
                await self._call(bus, services)
            except (DBusError, asyncio.TimeoutError) as err:
                failures += 1
                delay = self._backoff.delay(failures)
                _LOGGER.warning("%s: not answering (%s); asking again in %g s", owner, err, delay)
                await asyncio.sleep(delay)
                continue
            info = info[0]
            self._kiosk_id = str(info["kiosk_id"].value)
            self._kiosk_name = str(info["name"].value)
            self._info = KioskInfo.from_dbus({key: value.value for key, value in info.items()})
            self._snapshot_serial = None
            self._loaded = True
            self._publish()
            return

    def _apply_snapshot(self, rows: List[Any]) -> None:
        """``GetServices``'s reply, as it arrives among the daemon's signals.

        The daemon sends its messages in order, and the bus keeps that order: a
        ``ServiceHealthChanged`` received before the reply is older than the reply and
        is replaced by it; one received after it is newer and is applied on top, by
        :meth:`_on_message`. That order holds only here: :meth:`_load` resumes after the
        reply in a later turn of the loop, once dbus-next has handled every message that
        came in with it — applying the reply there would undo the newer signals.
        """
        self._services = {r[0]: ServiceRow(r[0], r[1], r[2], int(r[3])) for r in rows}

    async def call(self, interface: str, member: str, signature: str = "", *body: Any) -> List[Any]:
        """Call a method on the daemon's object; :class:`DaemonAwayError` while it is away.

        D-Bus errors (``cn.govkiosk.Error.*``) arrive as ``DBusError`` with their name.
        """
        bus, owner = self._bus, self._owner
        if bus is None or owner is None or not self._loaded:
            raise DaemonAwayError(f"{BUS_NAME} is not on the bus")
        message = Message(
            destination=owner,
            path=OBJECT_PATH,
            interface=interface,
            member=member,
            signature=signature,
            body=list(body),
        )
        values: List[Any] = plain(await self._call(bus, message))
        return values

    async def read(
        self, interface: str, member: str, signature: str = "", *body: Any
    ) -> Optional[List[Any]]:
        """:meth:`call`, or ``None`` if it failed: the screen keeps its default meanwhile
        (an interface the daemon does not serve yet, the daemon gone since)."""
        try:
            return await self.call(interface, member, signature, *body)
        except CallErrors as err:
            _LOGGER.debug("%s.%s: %s", interface, member, err)
            return None

    async def read_properties(self, interface: str) -> Dict[str, Any]:
        """Every property of ``interface`` on the daemon's object; empty if unreadable."""
        reply = await self.read(PROPERTIES_INTERFACE, "GetAll", "s", interface)
        return dict(reply[0]) if reply else {}

    async def _kiosk_call(self, bus: MessageBus, owner: str, member: str) -> List[Any]:
        message = Message(
            destination=owner, path=OBJECT_PATH, interface=KIOSK_INTERFACE, member=member
        )
        return await self._call(bus, message)

    async def _bus_call(self, bus: MessageBus, member: str, argument: str) -> List[Any]:
        """Call the bus itself (``org.freedesktop.DBus``) with one string argument."""
        message = Message(
            destination=DBUS_NAME,
            path=DBUS_PATH,
            interface=DBUS_NAME,
            member=member,
            signature="s",
            body=[argument],
        )
        return await self._call(bus, message)

    async def _call(self, bus: MessageBus, message: Message) -> List[Any]:
        reply = await asyncio.wait_for(bus.call(message), self._call_timeout)
        if reply is None:
            return []
        if reply.message_type is MessageType.ERROR:
            text = str(reply.body[0]) if reply.body else ""
            raise DBusError(reply.error_name or "", text)
        return list(reply.body)

    def _publish(self) -> None:
        status = DaemonStatus(
            available=self._loaded,
            kiosk_id=self._kiosk_id,
            kiosk_name=self._kiosk_name,
            info=self._info,
            services=tuple(self._services.values()) if self._loaded else (),
        )
        if status != self._last:
            self._last = status
            self._on_status(status)
