"""``cn.govkiosk.Maintenance1``: the operator login behind the UI's maintenance screen.

The PIN is checked here against a hash in the configuration, never in the UI (§8 a).
A login returns a token that other calls need; it expires by itself. Device health,
the printer test and the UPS state come from their own interfaces; this one adds
the recent alarms, which carry no personal data.

The PIN expires (``[maintenance] pin_max_age_days``): an expired PIN no longer logs in
(``PinExpired``) but still changes itself (``ChangePin``); the new PIN's hash is kept in
the state directory (``maintenance.expiry``). A daily watch alarms before the PIN and the
ops certificates expire (``maintenance.watch``): the alarms reach this screen's recent
alarms and ops.
"""

import asyncio
import contextlib
import datetime
import json
import os
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method

from ..backends.signing import SigningError, load_private_key
from ..bus import AdminAction, EventBus
from ..contract.names import MAINTENANCE_INTERFACE
from ..dbus import guarded
from ..devices.usbseal.settings import UsbSection, operator_tokens
from ..errors import GovkioskError
from ..evaluation.store import UsageStore
from ..maintenance import expiry
from ..maintenance.access import InvalidPinError, LoginGate
from ..maintenance.alarms import RecentAlarms
from ..maintenance.pin import hash_pin, verify_pin
from ..maintenance.watch import CredentialWatch
from ..ops import acceptance
from ..ops.acceptance import AcceptanceError
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
        pin_file: Optional[Path] = None,
        *,
        upkeep: Optional[UpkeepStore] = None,
        consumables: Callable[[], ConsumablesSettings] = ConsumablesSettings,
        bus: Optional[EventBus] = None,
        acceptance: Optional[Callable[[str, bytes, str], Awaitable[str]]] = None,
    ) -> None:
        super().__init__(MAINTENANCE_INTERFACE)
        self._acceptance = acceptance
        self._gate = gate
        self._alarms = alarms
        self._lockout_file = lockout_file
        self._usage = usage
        self._upkeep = upkeep
        self._consumables = consumables
        self._bus = bus
        self._pin_file = pin_file
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
    async def ChangePin(self, pin: "s", new_pin: "s") -> "i":
        """Replace the PIN (expired or not) after the old one; the new one's days, or -1.

        Errors as ``Login``'s, and ``PinReused``; a malformed new PIN is ``InvalidPin``.
        Every login made with the old PIN ends.
        """
        async with self._checking:
            self._gate.check_open(time.time())
            loop = asyncio.get_running_loop()
            try:
                new_hash = await loop.run_in_executor(None, hash_pin, new_pin)
            except ValueError as err:
                raise InvalidPinError(f"new PIN: {err}") from None
            matched = await loop.run_in_executor(None, self._gate.verify, pin)
            reused = await loop.run_in_executor(None, self._gate.verify, new_pin)
            try:
                record = self._gate.change(matched, reused, new_hash, time.time())
            finally:
                if self._lockout_file is not None:
                    await loop.run_in_executor(
                        None, _keep, self._lockout_file, self._gate.lockout()
                    )
            if self._pin_file is not None:
                await loop.run_in_executor(None, expiry.save, self._pin_file, record)
        left = self._gate.days_left(time.time())
        return -1 if left is None else left

    @method()
    @guarded
    def PinStatus(self) -> "(bi)":
        """(whether the PIN expires, days left; 0 or less: expired). No PIN value or hash."""
        left = self._gate.days_left(time.time())
        return [left is not None, 0 if left is None else left]

    @dbus_property(access=PropertyAccess.READ)
    def PinWarnDays(self) -> "i":
        """``[maintenance] pin_warn_days``: from this many days left (``PinStatus``) the
        maintenance screen says when the PIN expires, as the ``pin_expiring`` alarm does."""
        return self._gate.warn_days()

    @method()
    @guarded
    def Logout(self, token: "s") -> None:
        self._gate.logout(token)
        self._note("logout", {})

    def _note(self, code: str, detail: Dict[str, Any]) -> None:
        if self._bus is not None:
            self._bus.publish(AdminAction("maintenance", code, detail))

    @method()
    @guarded
    def RecentAlarms(self, token: "s") -> "a(dssss)":
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

    @method()
    @guarded
    async def SubmitAcceptance(self, name: "s", report: "s", signature: "s") -> "s":
        """``govkioskctl check``'s report (the JSON file's text) and its base64 Ed25519
        signature by the kiosk's key: checked (this kiosk's key, no personal data), kept
        under ``<state dir>/reports/`` and sent to ops as ``evt/acceptance`` (queued while
        the link is down). Returns where it is kept."""
        if self._acceptance is None:
            raise AcceptanceError("reports are not taken here")
        return await self._acceptance(name, report.encode("utf-8"), signature)


class AcceptanceDesk:
    """Checks, keeps and hands on acceptance reports (:mod:`..ops.acceptance`)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _key(self) -> Tuple[Ed25519PublicKey, str]:
        backends = self._runtime.config.backends
        key = load_private_key(Path(backends.key_file)).public_key()
        return key, backends.key_id or self._runtime.kiosk_id

    async def __call__(self, name: str, data: bytes, signature_b64: str) -> str:
        runtime = self._runtime
        loop = asyncio.get_running_loop()
        try:
            key, key_id = await loop.run_in_executor(None, self._key)
        except SigningError as err:
            raise AcceptanceError(f"the kiosk's key cannot be read: {err}") from err
        signature = acceptance.check(name, data, signature_b64, key, runtime.kiosk_id)
        directory = runtime.state_dir / acceptance.REPORTS
        try:
            path = await loop.run_in_executor(None, acceptance.keep, directory, name, data)
        except OSError as err:
            raise AcceptanceError(f"{name}: cannot be kept: {err}") from err
        runtime.bus.publish(acceptance.AcceptanceSubmitted(name, data, signature, key_id))
        runtime.bus.publish(AdminAction("maintenance", "acceptance_submitted", {"name": name}))
        return str(path)


def install(runtime: Runtime) -> None:
    gate = LoginGate(lambda: runtime.config.maintenance, verify_pin)
    lockout_file = runtime.state_dir / LOCKOUT_FILE
    # None kept yet, or unreadable: no lockout.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        gate.restore(json.loads(lockout_file.read_text(encoding="utf-8")))
    pin_file = runtime.state_dir / expiry.PIN_FILE
    gate.kept = expiry.load(pin_file)
    alarms = RecentAlarms(runtime.bus, runtime.config.maintenance.alarms_kept)
    runtime.dbus.export(
        MaintenanceInterface(
            gate,
            alarms,
            lockout_file,
            UsageStore(runtime.store),
            pin_file,
            upkeep=UpkeepStore(runtime.store),
            consumables=lambda: runtime.config.consumables,
            bus=runtime.bus,
            acceptance=AcceptanceDesk(runtime),
        )
    )
    runtime.supervisor.add(
        CredentialWatch(
            runtime.bus,
            gate.days_left,
            lambda: runtime.config.maintenance.pin_warn_days,
            lambda: _pin_age_unknown(gate, runtime.config.maintenance.pin_max_age_days),
            lambda: {"ops.cert": runtime.config.ops.cert, "ops.ca": runtime.config.ops.ca},
            token_days_left=lambda now: token_days_left(
                runtime.config.devices.usb, datetime.date.fromtimestamp(now)
            ),
        )
    )


def token_days_left(usb: UsbSection, today: datetime.date) -> Dict[str, int]:
    """Days until each dated engineer token expires (``[devices.usb] operators``)."""
    if usb.token_max_age_days <= 0:
        return {}
    return {
        role: (set_on + datetime.timedelta(days=usb.token_max_age_days) - today).days
        for role, (_digest, set_on) in operator_tokens(usb.operators).items()
        if set_on is not None
    }


def _pin_age_unknown(gate: LoginGate, max_age_days: int) -> bool:
    pin = gate.pin()
    return max_age_days > 0 and bool(pin.pin_hash) and pin.set_on is None


#: Beside the state database: the PIN lockout, kept across restarts (no PIN, no token).
LOCKOUT_FILE = "maintenance-lockout.json"


def _keep(path: Path, lockout: Dict[str, float]) -> None:
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(lockout), encoding="utf-8")
    os.replace(scratch, path)
