"""``cn.govkiosk.Devices1``: the device list, its changes as a signal, maintenance windows.

``DeviceChanged(action, device)`` carries the same row as ``ListDevices`` (id, role,
port, state, driver, source, identity); ``action`` is added, removed or changed.
Opening a maintenance window needs an operator role and that role's token
(docs/usb-sealing.md); in production the bus policy also limits who may call it.
"""

from typing import Awaitable, Callable, Dict, List

from dbus_next import Variant
from dbus_next.service import ServiceInterface, method, signal

from ..bus import EventBus
from ..devices.registry import DeviceChanged
from . import guarded

DEVICES_INTERFACE = "cn.govkiosk.Devices1"

Rows = Callable[[], List[Dict[str, str]]]
OpenWindow = Callable[[str, int, str, str], Awaitable[float]]
CloseWindow = Callable[[str, str, str], Awaitable[None]]


def variant_rows(rows: List[Dict[str, str]]) -> List[Dict[str, Variant]]:
    """Registry rows as ``aa{sv}``."""
    return [{k: Variant("s", v) for k, v in row.items()} for row in rows]


class DevicesInterface(ServiceInterface):
    def __init__(
        self, rows: Rows, bus: EventBus, open_window: OpenWindow, close_window: CloseWindow
    ) -> None:
        super().__init__(DEVICES_INTERFACE)
        self._rows = rows
        self._open_window = open_window
        self._close_window = close_window
        self._unsubscribe = bus.subscribe(DeviceChanged, self._on_change)

    def close(self) -> None:
        self._unsubscribe()

    def _on_change(self, event: DeviceChanged) -> None:
        row = {
            "id": event.id,
            "role": event.role,
            "port": event.port,
            "state": event.state,
            "driver": event.driver,
        }
        self.DeviceChanged(event.action, variant_rows([row])[0])

    @method()
    @guarded
    async def ListDevices(self) -> "aa{sv}":
        return variant_rows(self._rows())

    @method()
    @guarded
    async def OpenMaintenanceWindow(self, port: "s", minutes: "u", role: "s", token: "s") -> "d":
        return await self._open_window(port, minutes, role, token)

    @method()
    @guarded
    async def CloseMaintenanceWindow(self, port: "s", role: "s", token: "s") -> None:
        await self._close_window(port, role, token)

    @signal()
    def DeviceChanged(self, action: str, device: Dict[str, Variant]) -> "sa{sv}":
        return [action, device]
