"""How the scanner family joins the daemon: its D-Bus interface."""

from __future__ import annotations

from ...dbus.qrscanner import QrScannerInterface
from ...runtime import Runtime


def install(runtime: Runtime) -> None:
    runtime.dbus.export(QrScannerInterface(runtime.bus))
