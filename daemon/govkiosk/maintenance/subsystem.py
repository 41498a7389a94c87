"""Joining the daemon: ``cn.govkiosk.Maintenance1`` with its login gate and alarm list."""

from __future__ import annotations

from ..dbus.maintenance import MaintenanceInterface
from ..runtime import Runtime
from .access import LoginGate
from .alarms import RecentAlarms
from .pin import verify_pin


def install(runtime: Runtime) -> None:
    gate = LoginGate(lambda: runtime.config.maintenance, verify_pin)
    alarms = RecentAlarms(runtime.bus, runtime.config.maintenance.alarms_kept)
    runtime.dbus.export(MaintenanceInterface(gate, alarms))
