"""How the ID card family joins the daemon: one ``cn.govkiosk.IdCard1`` interface.

Exported once, at install, not per reader: every reader's events reach the one
interface through the bus, and the interface lists readers as they report. A kiosk
with no reader configured still answers (with an empty list), so the UI can tell
"no reader" from "daemon away".
"""

from __future__ import annotations

from ...dbus.idcard import IdCardInterface
from ...runtime import Runtime


def install(runtime: Runtime) -> None:
    runtime.dbus.export(IdCardInterface(runtime.bus))
