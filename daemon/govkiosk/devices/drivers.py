"""From a device's role to the driver that serves it.

A driver is a supervised :class:`~govkiosk.supervisor.Service`, built by its family's
factory from a :class:`~govkiosk.devices.spec.DeviceSpec`. The device layer (hotplug, or
the static list in the configuration for devices udev cannot see, such as a printer on
TCP 9100 or a simulator) decides *which* devices exist; this table decides *how* each
is driven. Each family adds its roles here, importing its own ``driver.create``.
"""

from __future__ import annotations

from typing import Callable, Dict

from ..runtime import Runtime
from ..supervisor import Service
from .idcard import driver as idcard
from .presence import driver as presence
from .qrscanner import driver as qrscanner
from .receipt import driver as receipt
from .spec import DeviceSpec
from .ups import driver as ups

DriverFactory = Callable[[DeviceSpec, Runtime], Service]

#: Role → driver factory.
DRIVERS: Dict[str, DriverFactory] = {
    "receipt_printer": receipt.create,
    "presence": presence.create,
    "qrscanner": qrscanner.create,
    "idcard": idcard.create,
    "ups": ups.create,
}
