"""How the device layer names a device to its driver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceSpec:
    """One device as the device layer knows it."""

    id: str  #: unique and stable: ``<role>@<port-or-devpath>``
    role: str  #: ``idcard``, ``receipt_printer``, ``ups`` …
    port: str  #: what the driver opens: ``/dev/ttyUSB0``, ``socket://127.0.0.1:9100`` …
