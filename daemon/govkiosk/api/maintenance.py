"""``cn.govkiosk.Maintenance1``: the operator login behind the UI's maintenance screen.

The PIN is checked here against a hash in the configuration, never in the UI (§8 a).
A login returns a token that other calls need; it expires by itself. Device health,
the printer test and the UPS state come from their own interfaces; this one adds
the recent alarms, which carry no personal data.
"""

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from dbus_next.service import ServiceInterface, method

from ..bus import AdminAction, EventBus
from ..contract.names import MAINTENANCE_INTERFACE
from ..dbus import guarded
from ..errors import GovkioskError
from ..evaluation.store import UsageStore
from ..maintenance.access import LoginGate
from ..maintenance.alarms import RecentAlarms
from ..maintenance.pin import verify_pin
from ..runtime import Runtime
from ..upkeep.settings import ConsumablesSettings
from ..upkeep.store import UpkeepStore


class MaintenanceInterface(ServiceInterface):
    def __init__(
        self,
        gate: LoginGate,
        alarms: RecentAlarms,
        lockout_file: Optional[Path] = None,
        usage: Optional[UsageStore] = None,
        *,
        upkeep: Optional[UpkeepStore] = None,
        consumables: Callable[[], ConsumablesSettings] = ConsumablesSettings,
        bus: Optional[EventBus] = None,
    ) -> None:
        super().__init__(MAINTENANCE_INTERFACE)
        self._gate = gate
        self._alarms = alarms
        self._lockout_file = lockout_file
        self._usage = usage
        self._upkeep = upkeep
        self._consumables = consumables
        self._bus = bus
        self._checking = asyncio.Lock()  # one PIN at a time: no parallel guessing

    @method()
    @guarded
    async def Login(self, pin: "s") -> "(sd)":
        """(token, seconds it lasts); or ``WrongPin``, ``LockedOut``, ``MaintenanceDisabled``."""
        async with self._checking:
            self._gate.check_open(time.time())
            loop = asyncio.get_running_loop()
            # PBKDF2 is slow on purpose: off the loop. The gate then decides with the result.
            matched = await loop.run_in_executor(None, self._gate.verify, pin)
            try:
                token = self._gate.record(matched, time.time())
            except GovkioskError as err:
                self._note("login_refused", {"reason": type(err).__name__})
                raise
            finally:
                if self._lockout_file is not None:
                    await loop.run_in_executor(
                        None, _keep, self._lockout_file, self._gate.lockout()
                    )
        self._note("login", {})
        return [token, self._gate.seconds_left(token, time.time())]

    @method()
    @guarded
    async def Logout(self, token: "s") -> None:
        self._gate.logout(token)
        self._note("logout", {})

    def _note(self, code: str, detail: Dict[str, Any]) -> None:
        if self._bus is not None:
            self._bus.publish(AdminAction("maintenance", code, detail))

    @method()
    @guarded
    async def RecentAlarms(self, token: "s") -> "a(dssss)":
        """Newest first: (time since the epoch, source, code, severity, message)."""
        self._gate.seconds_left(token, time.time())
        rows: List[List[Any]] = [
            [a.time, a.source, a.code, a.severity, a.message] for a in self._alarms.newest_first()
        ]
        return rows

    @method()
    @guarded
    async def Statistics(self, token: "s", days: "u") -> "(ssa(sa{su}a{su}a{su}))":
        """As ``Kiosk1.Statistics``: the usage and 好差评 counts of the last ``days`` days."""
        self._gate.seconds_left(token, time.time())
        if self._usage is None:
            return ["", "", []]
        return await self._usage.rows(days)

    @method()
    @guarded
    async def RefillConsumable(self, token: "s", name: "s") -> "d":
        """The operator put in a new receipt roll (``receipt``) or filled the A4 tray
        (``a4``): its count starts again. Returns the percentage now predicted left."""
        self._gate.seconds_left(token, time.time())
        if self._upkeep is None:
            return 0.0
        await self._upkeep.refill(name, time.time())
        return (await self._upkeep.level(name, self._consumables())).remaining_percent


def install(runtime: Runtime) -> None:
    gate = LoginGate(lambda: runtime.config.maintenance, verify_pin)
    lockout_file = runtime.state_dir / LOCKOUT_FILE
    # None kept yet, or unreadable: no lockout.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        gate.restore(json.loads(lockout_file.read_text(encoding="utf-8")))
    alarms = RecentAlarms(runtime.bus, runtime.config.maintenance.alarms_kept)
    runtime.dbus.export(
        MaintenanceInterface(
            gate,
            alarms,
            lockout_file,
            UsageStore(runtime.store),
            upkeep=UpkeepStore(runtime.store),
            consumables=lambda: runtime.config.consumables,
            bus=runtime.bus,
        )
    )


#: Beside the state database: the PIN lockout, kept across restarts (no PIN, no token).
LOCKOUT_FILE = "maintenance-lockout.json"


def _keep(path: Path, lockout: Dict[str, float]) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(lockout), encoding="utf-8")
    os.replace(scratch, path)
