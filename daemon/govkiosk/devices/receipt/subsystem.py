"""How the receipt printer family joins the daemon.

Drivers are started by the device layer (role ``receipt_printer`` in
:mod:`govkiosk.devices.drivers`); this adds the ``cn.govkiosk.Receipt1`` interface.
"""

from __future__ import annotations

from ...dbus.receipt import ReceiptInterface
from ...runtime import Runtime


def install(runtime: Runtime) -> None:
    runtime.dbus.export(
        ReceiptInterface(runtime.bus, runtime.config.kiosk.id, lambda: runtime.config.receipt)
    )
