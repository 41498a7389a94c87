"""From a device's role to the driver that serves it.

A driver is a supervised :class:`~govkiosk.supervisor.Service`, built by its family's
factory from a :class:`DeviceSpec`. The device layer (hotplug, or the static list in
the configuration for devices udev cannot see, such as a printer on TCP 9100 or a
simulator) decides *which* devices exist; this table decides *how* each is driven.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

from ..runtime import Runtime
from ..supervisor import Service


@dataclass(frozen=True)
class DeviceSpec:
    """One device as the device layer knows it."""

    id: str  #: unique and stable: ``<role>@<port-or-devpath>``
    role: str  #: ``idcard``, ``receipt_printer``, ``ups`` …
    port: str  #: what the driver opens: ``/dev/ttyUSB0``, ``socket://127.0.0.1:9100`` …


DriverFactory = Callable[[DeviceSpec, Runtime], Service]

#: Role → driver factory. Each device family adds its roles here.
DRIVERS: Dict[str, DriverFactory] = {}
