"""The device layer assembled (§5.2 适配中台): registry, static devices, USB hotplug and
sealing, and their D-Bus interface."""

from __future__ import annotations

from typing import Dict, List

from dbus_next import Variant

from ..dbus.devices import DevicesInterface, variant_rows
from ..runtime import Runtime
from . import static
from .registry import DeviceRegistry
from .usbseal.service import UsbSealService


class DeviceLayer:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = DeviceRegistry(runtime)
        static.install(runtime, self.registry)
        self.usb = UsbSealService(runtime, self.registry)
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
