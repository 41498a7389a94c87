"""``cn.govkiosk.Kiosk1``: who the kiosk is, the health of its services, its devices.

``Faults`` counts the supervised services (device drivers among them) that have failed
and wait to be restarted: the status bar's "N faults" is the daemon's count, not the UI's.
``GetInfo`` also tells the citizen's screens the hall's name and where the ID card reader
is on this kiosk model; ``GetCardReaderImage`` is the integrator's picture of it.
"""

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from dbus_next import Variant
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from .. import __version__
from ..bus import EventBus, ServiceHealthChanged
from ..contract.names import KIOSK_INTERFACE
from ..dbus import guarded
from ..kiosk import IMAGE_MAX_BYTES, PNG_MAGIC, KioskSection
from ..supervisor import ServiceHealth, ServiceState, Supervisor

DeviceRows = Callable[[], List[Dict[str, Variant]]]
#: The usage and 好差评 counts of the last N days (0: all kept), as ``Statistics`` gives them.
StatisticsRows = Callable[[int], Awaitable[List[Any]]]


def _row(health: ServiceHealth) -> List[Any]:
    return [health.name, health.state.value, health.detail, health.restarts]


def _png(path: str) -> bytes:
    try:
        with Path(path).open("rb") as file:
            data = file.read(IMAGE_MAX_BYTES + 1)
    except OSError:
        return b""
    return data if data.startswith(PNG_MAGIC) and len(data) <= IMAGE_MAX_BYTES else b""


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
    def GetInfo(self) -> "a{sv}":
        kiosk = self._kiosk()
        return {
            "kiosk_id": Variant("s", self._kiosk_id),
            "name": Variant("s", kiosk.name),
            "region": Variant("s", kiosk.region),
            "language": Variant("s", kiosk.language),
            "version": Variant("s", __version__),
            "hall": Variant("s", kiosk.hall),
            "hall_en": Variant("s", kiosk.hall_en),
            "card_reader": Variant("s", kiosk.card_reader),
            "card_reader_text": Variant("s", kiosk.card_reader_text("zh_CN")),
            "card_reader_text_en": Variant("s", kiosk.card_reader_text("en")),
            "has_card_reader_image": Variant("b", bool(kiosk.card_reader_image)),
        }

    @method()
    @guarded
    async def GetCardReaderImage(self) -> "ay":
        """The integrator's PNG of where the card reader is; empty when none is set (or
        the file went away or changed into something else since the configuration read)."""
        path = self._kiosk().card_reader_image
        if not path:
            return b""
        return await asyncio.get_running_loop().run_in_executor(None, _png, path)

    @method()
    @guarded
    def GetServices(self) -> "a(sssu)":
        """Plain, not ``async``: the reply leaves in the step that read the health, so a
        ``ServiceHealthChanged`` sent after it is newer (the UI's snapshot relies on it)."""
        return [_row(h) for h in self._supervisor.health()]

    @method()
    @guarded
    def GetService(self, name: "s") -> "(sssu)":
        return _row(self._supervisor.health(name)[0])

    @method()
    @guarded
    def ListDevices(self) -> "aa{sv}":
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
