"""``govkioskctl sim <family> …``: run a device simulator by hand.

Each family's ``sim`` module provides ``main(argv: List[str]) -> int`` with its own
options (where to listen, what to script). Modules are imported only when asked for,
so ``govkioskctl status`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict, List, cast

#: Family name → the module whose ``main(argv)`` runs its simulator.
SIMULATORS: Dict[str, str] = {
    "receipt": "govkiosk.devices.receipt.sim",
    "presence": "govkiosk.devices.presence.sim",
    "qrscanner": "govkiosk.devices.qrscanner.sim",
    "idcard": "govkiosk.devices.idcard.sim",
    "ups": "govkiosk.devices.ups.sim",
    "camera": "govkiosk.devices.camera.sim",
}


def run(family: str, argv: List[str]) -> int:
    if family not in SIMULATORS:
        known = ", ".join(sorted(SIMULATORS)) or "none yet"
        print(f"govkioskctl sim: unknown device family {family!r} (known: {known})")
        return 2
    module = importlib.import_module(SIMULATORS[family])
    return cast(Callable[[List[str]], int], module.main)(argv)
