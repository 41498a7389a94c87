"""The ``ups`` role's driver factory: the port's syntax picks the protocol.

``nut://[user:pass@]host[:port]/upsname`` → NUT's upsd; anything else (a serial
path, a pty, ``socket://host:port``) → a Megatec/Q1 UPS on that port.
"""

from __future__ import annotations

from ...runtime import Runtime
from ..spec import DeviceSpec
from .base import UpsDriver
from .megatec_driver import MegatecDriver
from .nut import is_nut_port, parse_address
from .nut_driver import NutDriver


def create(spec: DeviceSpec, runtime: Runtime) -> UpsDriver:
    settings = runtime.config.ups
    if is_nut_port(spec.port):
        return NutDriver(parse_address(spec.port), settings, runtime.bus)
    return MegatecDriver(spec, settings, runtime.bus)
