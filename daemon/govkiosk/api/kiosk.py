"""``cn.govkiosk.Kiosk1``: who the kiosk is, the health of its services, its devices.

``Faults`` counts the supervised services (device drivers among them) that have failed
and wait to be restarted: the status bar's "N faults" is the daemon's count, not the UI's.
"""

from typing import Any, Awaitable, Callable, Dict, List, Optional

from dbus_next import Variant
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from .. import __version__
from ..bus import EventBus, ServiceHealthChanged
from ..contract.names import KIOSK_INTERFACE
from ..dbus import guarded
from ..kiosk import KioskSection
from ..supervisor import ServiceHealth, ServiceState, Supervisor

DeviceRows = Callable[[], List[Dict[str, Variant]]]
#: The usage and 好差评 counts of the last N days (0: all kept), as ``Statistics`` gives them.
StatisticsRows = Callable[[int], Awaitable[List[Any]]]


def _row(health: ServiceHealth) -> List[Any]:
    return [health.name, health.state.value, health.detail, health.restarts]


class KioskInterface(ServiceInterface):
    def __init__(
        self,
        kiosk_id: str,
        kiosk: Callable[[], KioskSection],
        supervisor: Supervisor,
        bus: EventBus,
        *,
        devices: DeviceRows = list,
        statistics: Optional[StatisticsRows] = None,
    ) -> None:
        super().__init__(KIOSK_INTERFACE)
        self._kiosk_id = kiosk_id
        self._kiosk = kiosk
        self._supervisor = supervisor
        self._faults = self._count_faults()
        self._devices = devices
        self._statistics = statistics
        self._unsubscribe = bus.subscribe(ServiceHealthChanged, self._on_health)

    def close(self) -> None:
        self._unsubscribe()

    def _count_faults(self) -> int:
        return sum(1 for h in self._supervisor.health() if h.state is ServiceState.FAILED)

    def _on_health(self, event: ServiceHealthChanged) -> None:
        self.ServiceHealthChanged(event.service, event.state, event.detail, event.restarts)
        faults = self._count_faults()
        if faults != self._faults:
            self._faults = faults
            self.emit_properties_changed({"Faults": faults})

    @dbus_property(access=PropertyAccess.READ)
    def KioskId(self) -> "s":
        return self._kiosk_id

    @dbus_property(access=PropertyAccess.READ)
    def Faults(self) -> "u":
        return self._faults

    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> "s":
        return __version__

    @method()
    @guarded
    async def GetInfo(self) -> "a{sv}":
        kiosk = self._kiosk()
        return {
            "kiosk_id": Variant("s", self._kiosk_id),
            "name": Variant("s", kiosk.name),
            "region": Variant("s", kiosk.region),
            "language": Variant("s", kiosk.language),
            "version": Variant("s", __version__),
        }

    @method()
    @guarded
    async def GetServices(self) -> "a(sssu)":
        return [_row(h) for h in self._supervisor.health()]

    @method()
    @guarded
    async def GetService(self, name: "s") -> "(sssu)":
        return _row(self._supervisor.health(name)[0])

    @method()
    @guarded
    async def ListDevices(self) -> "aa{sv}":
        return self._devices()

    @method()
    @guarded
    async def Statistics(self, days: "u") -> "(ssa(sa{su}a{su}a{su}))":
        """(first day, last day, [(item, sessions by outcome, evaluations by level,
        reasons)]) over the last ``days`` days, 0: all kept. Not for the UI's group."""
        if self._statistics is None:
            return ["", "", []]
        return await self._statistics(days)

    @signal()
    def ServiceHealthChanged(self, name: str, state: str, detail: str, restarts: int) -> "sssu":
        return [name, state, detail, restarts]
