"""The device layer assembled (§5.2 适配中台) and ``cn.govkiosk.Devices1``.

The layer is the registry, the static devices of ``[[devices.static]]``, USB hotplug
and sealing, and :data:`DRIVERS`, the one table from a role to the driver that serves
it. The interface is the device list, its changes as a signal, maintenance windows.

``DeviceChanged(action, device)`` carries the same row as ``ListDevices`` (id, role,
port, state, driver, source, identity); ``action`` is added, removed or changed.
Opening a maintenance window needs an operator role and that role's token
(docs/usb-sealing.md); in production the bus policy also limits who may call it.
"""

from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, List, Optional, Union

from dbus_next import Variant
from dbus_next.service import ServiceInterface, method, signal

from ..bus import AdminAction, EventBus
from ..contract.names import DEVICES_INTERFACE
from ..dbus import guarded
from ..devices.camera.driver import CameraDriver
from ..devices.camera.hub import CameraHub
from ..devices.camera.settings import DOC, FACE_IR, FACE_RGB
from ..devices.idcard.driver import IdCardReader
from ..devices.presence.driver import PresenceDriver
from ..devices.qrscanner.driver import scanner_for
from ..devices.receipt.driver import ReceiptPrinter
from ..devices.registry import STATIC, DeviceChanged, DeviceRecord, DeviceRegistry
from ..devices.spec import DeviceSpec, shown
from ..devices.ups.driver import ups_driver_for
from ..devices.usbseal.service import UsbSealService
from ..runtime import Runtime
from ..supervisor import Service

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
        self._bus = bus
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
    def ListDevices(self) -> "aa{sv}":
        return variant_rows(self._rows())

    @method()
    @guarded
    async def OpenMaintenanceWindow(self, port: "s", minutes: "u", role: "s", token: "s") -> "d":
        until = await self._open_window(port, minutes, role, token)
        self._bus.publish(
            AdminAction("usb_window", "opened", {"port": port, "minutes": minutes, "role": role})
        )
        return until

    @method()
    @guarded
    async def CloseMaintenanceWindow(self, port: "s", role: "s", token: "s") -> None:
        await self._close_window(port, role, token)
        self._bus.publish(AdminAction("usb_window", "closed", {"port": port, "role": role}))

    @signal()
    def DeviceChanged(self, action: str, device: Dict[str, Variant]) -> "sa{sv}":
        return [action, device]


DriverFactory = Callable[[DeviceSpec, Runtime], Service]


@dataclass(frozen=True)
class WithCameras:
    """A :data:`DRIVERS` entry whose driver is also handed the daemon's camera hub."""

    make: Callable[[DeviceSpec, Runtime, CameraHub], Service]


def _camera(spec: DeviceSpec, rt: Runtime, hub: CameraHub) -> Service:
    return CameraDriver(spec, rt.bus, lambda: rt.config.camera, hub)


#: Role → the driver that serves a device of that role, handed its section of the
#: configuration. A role not listed here is recorded and shown, with no driver.
DRIVERS: Dict[str, Union[DriverFactory, WithCameras]] = {
    "receipt_printer": lambda spec, rt: ReceiptPrinter(spec, rt.bus, lambda: rt.config.receipt),
    "presence": lambda spec, rt: PresenceDriver(spec, rt.bus, lambda: rt.config.presence),
    "qrscanner": lambda spec, rt: scanner_for(spec)(spec, rt.bus, lambda: rt.config.qrscanner),
    "idcard": lambda spec, rt: IdCardReader(spec, rt.bus, lambda: rt.config.idcard),
    "ups": lambda spec, rt: ups_driver_for(spec)(spec, rt.bus, lambda: rt.config.ups),
    FACE_RGB: WithCameras(_camera),
    FACE_IR: WithCameras(_camera),
    DOC: WithCameras(_camera),
}


class DeviceLayer:
    def __init__(self, runtime: Runtime) -> None:
        #: The cameras by role (one hub per daemon): the camera drivers attach to it.
        self.cameras = CameraHub()

        def driver(spec: DeviceSpec) -> Optional[Service]:
            factory = DRIVERS.get(spec.role)
            if isinstance(factory, WithCameras):
                return factory.make(spec, runtime, self.cameras)
            return None if factory is None else factory(spec, runtime)

        self.registry = DeviceRegistry(runtime.supervisor, runtime.bus, driver)
        for entry in runtime.config.devices.static:
            # Recorded now; their drivers start with the other services.
            spec = DeviceSpec(f"{entry.role}@{shown(entry.port)}", entry.role, entry.port)
            self.registry.put(DeviceRecord(spec.id, spec, STATIC, "static"), launch=False)
        self.usb = UsbSealService(
            lambda: runtime.config.devices.usb, runtime.store, runtime.bus, self.registry
        )
        runtime.supervisor.add(self.usb)
        self.interface = DevicesInterface(
            self.registry.rows, runtime.bus, self.usb.open_window, self.usb.close_window
        )
        runtime.dbus.export(self.interface)

    def dbus_rows(self) -> List[Dict[str, Variant]]:
        """For ``Kiosk1.ListDevices``."""
        return variant_rows(self.registry.rows())

    async def close(self) -> None:
        """After the supervisor has stopped every service."""
        self.interface.close()
        self.usb.close()
        await self.registry.close()
