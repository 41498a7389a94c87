"""Joining the daemon: the shutdown service and ``cn.govkiosk.Power1``."""

from __future__ import annotations

import functools

from ..dbus.power import PowerInterface
from ..runtime import Runtime
from .logind import power_off
from .service import ShutdownService


def install(runtime: Runtime) -> None:
    settings = runtime.config.ups
    service = ShutdownService(
        runtime.bus,
        runtime.activity,
        settings,
        functools.partial(power_off, settings.logind_bus),
    )
    runtime.supervisor.add(service)
    runtime.dbus.export(PowerInterface(runtime.bus, lambda: service.stage))
