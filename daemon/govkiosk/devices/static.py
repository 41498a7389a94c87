"""Devices listed in ``[[devices.static]]``: started at boot, each under its role's driver."""

from __future__ import annotations

import logging

from ..runtime import Runtime
from .drivers import DRIVERS
from .spec import DeviceSpec

_LOGGER = logging.getLogger(__name__)


def install(runtime: Runtime) -> None:
    for entry in runtime.config.devices.static:
        factory = DRIVERS.get(entry.role)
        if factory is None:
            _LOGGER.error("%s@%s: no driver for role %r", entry.role, entry.port, entry.role)
            continue
        spec = DeviceSpec(id=f"{entry.role}@{entry.port}", role=entry.role, port=entry.port)
        runtime.supervisor.add(factory(spec, runtime))
