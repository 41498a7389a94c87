"""``cn.govkiosk.QrScanner1``: whether a scanner is ready. Never the scanned codes.

Codes are personal data (§8 d) and go to the citizen session inside the daemon; the UI
only needs to know whether to offer "scan your code".
"""

from typing import Dict

from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, signal

from ..bus import EventBus, ServiceHealthChanged
from ..contract.names import QRSCANNER_INTERFACE
from ..runtime import Runtime

SERVICE_PREFIX = "qrscanner@"


class QrScannerInterface(ServiceInterface):
    def __init__(self, bus: EventBus) -> None:
        super().__init__(QRSCANNER_INTERFACE)
        self._states: Dict[str, str] = {}
        self._unsubscribe = bus.subscribe(ServiceHealthChanged, self._on_health)

    def close(self) -> None:
        self._unsubscribe()

    def _state(self) -> str:
        """``ready`` if a scanner runs, else ``failed`` if one is failing, else ``absent``."""
        states = set(self._states.values())
        if "running" in states:
            return "ready"
        return "failed" if "failed" in states else "absent"

    def _on_health(self, event: ServiceHealthChanged) -> None:
        if not event.service.startswith(SERVICE_PREFIX):
            return
        before = self._state()
        self._states[event.service] = event.state
        after = self._state()
        if after != before:
            self.emit_properties_changed({"State": after})
            self.StateChanged(after)

    @dbus_property(access=PropertyAccess.READ)
    def State(self) -> "s":
        return self._state()

    @signal()
    def StateChanged(self, state: str) -> "s":
        return state


def install(runtime: Runtime) -> None:
    runtime.dbus.export(QrScannerInterface(runtime.bus))
