"""``cn.govkiosk.Upkeep1``: the self-test, the consumables and the availability.

``SelfTest`` runs the non-disturbing checks now; ``Report`` gives the last self-test, the
consumables' predicted levels and the uptime; ``Refill`` records a new receipt roll or a
refilled A4 tray. Answers are JSON (no personal data); ``govkioskctl selftest`` and
``govkioskctl consumables`` print them.
"""

import json
import time
from typing import Any, Callable

from dbus_next.service import ServiceInterface, method

from ..contract.names import UPKEEP_INTERFACE
from ..dbus import guarded
from ..runtime import Runtime
from ..upkeep.selftest import Probe
from ..upkeep.service import UpkeepService
from ..upkeep.store import UpkeepStore
from .devices import DeviceLayer


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class UpkeepInterface(ServiceInterface):
    def __init__(self, service: UpkeepService, runtime: Runtime) -> None:
        super().__init__(UPKEEP_INTERFACE)
        self._service = service
        self._runtime = runtime

    @method()
    @guarded
    async def SelfTest(self) -> "s":
        """Run every check now; the result as JSON (``passed``, ``checks``)."""
        return _json((await self._service.run_selftest("manual")).as_dict())

    @method()
    @guarded
    async def Report(self) -> "s":
        """``selftest`` (the last one), ``consumables``, ``availability`` as JSON."""
        report = await self._service.upkeep.report(time.time(), self._runtime.config.consumables)
        return _json(report)

    @method()
    @guarded
    async def Refill(self, name: "s") -> "s":
        """``receipt`` or ``a4`` was refilled; its new level as JSON."""
        return _json((await self._service.refill(name)).as_dict())


def install(runtime: Runtime, devices: DeviceLayer, busy: Callable[[], bool]) -> UpkeepService:
    probe = Probe(
        services=runtime.supervisor.health,
        devices=devices.registry.rows,
        state_dir=runtime.state_dir,
        ignore=(UpkeepService.name,),
    )
    service = UpkeepService(
        UpkeepStore(runtime.store),
        runtime.bus,
        probe,
        lambda: runtime.config.selftest,
        lambda: runtime.config.consumables,
        busy=lambda: busy() or not runtime.activity.idle,
    )
    runtime.supervisor.add(service)
    runtime.dbus.export(UpkeepInterface(service, runtime))
    return service
