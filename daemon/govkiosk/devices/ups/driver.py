"""The ``ups`` role: the port's syntax picks the protocol.

``nut://[user:pass@]host[:port]/upsname`` → NUT's upsd; anything else (a serial
path, a pty, ``socket://host:port``) → a Megatec/Q1 UPS on that port.
"""

from __future__ import annotations

from typing import Type, Union

from ..spec import DeviceSpec
from .megatec_driver import MegatecDriver
from .nut import is_nut_port
from .nut_driver import NutDriver


def ups_driver_for(spec: DeviceSpec) -> Union[Type[NutDriver], Type[MegatecDriver]]:
    return NutDriver if is_nut_port(spec.port) else MegatecDriver
