"""What an ops method is handed: the daemon (``Host``), its current view, the ops log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .host import Host
from .oplog import OpsLog
from .settings import OpsSettings
from .signing import KioskSigner
from .view import KioskView


@dataclass
class Context:
    host: Host
    view: KioskView
    oplog: OpsLog
    #: The kiosk's certificate key: it opens parameters sealed for this kiosk.
    signer: KioskSigner
    clock: Callable[[], float] = time.time

    @property
    def daemon_bus(self) -> str:
        return self.host.daemon_bus

    def settings(self) -> OpsSettings:
        return self.host.settings()
