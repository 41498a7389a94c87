"""How the presence family joins the daemon: its D-Bus interface."""

from __future__ import annotations

from ...dbus.presence import PresenceInterface
from ...runtime import Runtime


def install(runtime: Runtime) -> None:
    runtime.dbus.export(PresenceInterface(runtime.bus))
