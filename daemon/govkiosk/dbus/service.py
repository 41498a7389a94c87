"""The supervised service that owns the D-Bus connection and exports the interfaces."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Dict, List, Optional

from dbus_next import Message, MessageType, RequestNameReply
from dbus_next.aio import MessageBus
from dbus_next.errors import AuthError, InvalidAddressError
from dbus_next.service import ServiceInterface

from ..contract.connection import close, connect, disconnected
from ..contract.names import BUS_NAME, OBJECT_PATH
from ..errors import GovkioskError
from ..supervisor import Service

_LOGGER = logging.getLogger(__name__)


class DBusUnavailableError(GovkioskError):
    """The bus cannot be reached, or our name is taken."""


class DBusService(Service):
    name = "dbus"

    def __init__(self, address: str, bus_name: str = BUS_NAME) -> None:
        self._address = address
        self._bus_name = bus_name
        self._interfaces: List[ServiceInterface] = []
        self._bus: Optional[MessageBus] = None
        self._watched: Dict[str, List[Callable[[str], None]]] = {}

    @property
    def address(self) -> str:
        """The bus the daemon serves on, for in-daemon clients of its own API (ops)."""
        return self._address

    def export(self, interface: ServiceInterface) -> None:
        """Serve ``interface`` at the kiosk's object path, now and after every reconnect."""
        self._interfaces.append(interface)
        if self._bus is not None:
            self._bus.export(OBJECT_PATH, interface)

    def watch_name(self, name: str, changed: Callable[[str], None]) -> None:
        """Call ``changed(new_owner)`` whenever ``name`` changes hands on the bus (``""``:
        its owner is gone, e.g. the UI process died), from the next (re)connect on."""
        self._watched.setdefault(name, []).append(changed)

    def _on_message(self, message: Message) -> None:
        if (
            message.message_type == MessageType.SIGNAL
            and message.member == "NameOwnerChanged"
            and message.interface == "org.freedesktop.DBus"
            and len(message.body) == 3
        ):
            name, _old, new = message.body
            for changed in self._watched.get(name, ()):
                changed(new)

    async def _watch(self, bus: MessageBus) -> None:
        bus.add_message_handler(self._on_message)
        for name in self._watched:
            rule = (
                "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                f"member='NameOwnerChanged',arg0='{name}'"
            )
            await bus.call(
                Message(
                    destination="org.freedesktop.DBus",
                    path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus",
                    member="AddMatch",
                    signature="s",
                    body=[rule],
                )
            )

    async def start(self) -> None:
        try:
            bus = await connect(self._address)
        except (OSError, ValueError, AuthError, InvalidAddressError) as err:
            raise DBusUnavailableError(f"cannot connect to the {self._address} bus: {err}") from err
        self._bus = bus
        for interface in self._interfaces:
            bus.export(OBJECT_PATH, interface)
        if self._watched:
            await self._watch(bus)
        reply = await bus.request_name(self._bus_name)
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            raise DBusUnavailableError(f"the name {self._bus_name} is already owned on the bus")
        _LOGGER.info("serving %s on the %s bus", self._bus_name, self._address)

    async def serve(self) -> None:
        assert self._bus is not None
        # Shielded: cancelling this wait must not cancel the bus's own disconnect
        # future, which stop() still waits on.
        await asyncio.shield(disconnected(self._bus))
        raise DBusUnavailableError("disconnected from the bus")

    async def stop(self) -> None:
        if self._bus is not None:
            bus, self._bus = self._bus, None
            await close(bus)
