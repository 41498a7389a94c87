"""Applying the port map to every USB device and interface, and keeping it applied.

For each device the sealer works out the verdict (:mod:`.policy`), writes ``authorized``
when sysfs disagrees, records the device in the registry, audits each new decision and
raises alarms. It remembers what it wrote: a sealed device found authorised again was
authorised by someone else — tampering (§8 c) — and is sealed at once.

A seal (``authorized=0``) is written at once, on the loop, before anything else about
the event is done: it is the latency that matters (p99 <= 2 ms, ``bench usbseal``), and
handing it to a thread costs a second wake-up that, on a busy core, waits for the
scheduler. Authorising writes go to one worker thread (a driver's probe can take the
kernel a while); a write still in flight is never mistaken for tampering.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Dict, Optional

import pyudev

from ...bus import Alarm, EventBus, Severity
from ..registry import AUTHORIZED as STATE_AUTHORIZED
from ..registry import SEALED as STATE_SEALED
from ..registry import DeviceRecord, DeviceRegistry
from ..spec import DeviceSpec
from .audit import AuditLog
from .identity import device_identity, interface_identity
from .maintenance import MaintenanceWindows
from .policy import Verdict, decide_device, decide_interface, is_badusb
from .rules import RuleSet
from .sysfs import AUTHORIZED, AUTHORIZED_DEFAULT, OPEN, SEALED, Sysfs, SysfsError

_LOGGER = logging.getLogger(__name__)

SOURCE = "usbseal"
DEVICE_ATTRIBUTES = ("idVendor", "idProduct", "serial", "bDeviceClass")
INTERFACE_ATTRIBUTES = ("bInterfaceClass", "bInterfaceSubClass", "bInterfaceProtocol")
#: Where a hot-plugged device's driver finds it: the udev rules make this symlink.
ROLE_LINK = "/dev/govkiosk/{role}"


class Sealer:
    def __init__(
        self,
        rules: RuleSet,
        sysfs: Sysfs,
        registry: DeviceRegistry,
        bus: EventBus,
        *,
        audit: AuditLog,
        windows: MaintenanceWindows,
        writer: Executor,
        enforce: bool = True,
    ) -> None:
        self.rules = rules
        self._sysfs = sysfs
        self._registry = registry
        self._bus = bus
        self._audit = audit
        self._windows = windows
        self._writer = writer
        self._enforce_writes = enforce
        self._verdicts: Dict[str, Verdict] = {}
        self._ids: Dict[str, str] = {}  # DEVPATH → VID:PID, for the interfaces' records
        self._expected: Dict[str, str] = {}  # what the sealer last wrote or confirmed
        self._inflight: Dict[str, int] = {}
        self._audited: Dict[str, str] = {}

    def handle(self, action: str, device: pyudev.Device) -> None:
        """The hotplug handler: one udev event (or one device found by enumeration)."""
        path = str(device.device_path)
        if action == "remove":
            self._verdicts.pop(path, None)
            self._ids.pop(path, None)
            self._expected.pop(path, None)
            self._audited.pop(path, None)
            self._registry.remove(path)
            return
        if device.device_type == "usb_device":
            if device.sys_name.startswith("usb"):
                self.seal_root_hub(path)
            else:
                self._device(path, device.sys_name)
        elif device.device_type == "usb_interface" and device.parent is not None:
            self._interface(path, device.sys_name, str(device.parent.device_path))

    def seal_root_hub(self, path: str) -> None:
        """``authorized_default=0``: nothing new on this bus binds a driver by itself."""
        if not self._enforce_writes or self._sysfs.read(path, AUTHORIZED_DEFAULT) == SEALED:
            return
        try:
            self._sysfs.seal_root_hub(path)
        except SysfsError as err:
            self._alarm("usb.seal_failed", Severity.CRITICAL, str(err))
            return
        self._audit.record(path.rsplit("/", 1)[-1], "", "", "bus-sealed", AUTHORIZED_DEFAULT)

    def _device(self, path: str, port: str) -> None:
        attrs = {a: self._sysfs.read(path, a) for a in DEVICE_ATTRIBUTES}
        identity = device_identity(port, attrs)
        verdict = decide_device(self.rules, identity, self._windows.open_ports())
        self._verdicts[path] = verdict
        self._ids[path] = identity.id
        if self._enforce(path, verdict, port, identity.id, "") and not verdict.allowed:
            self._alarm(
                "usb.denied",
                Severity.WARNING,
                f"port {port}: {identity.id} sealed ({verdict.reason})",
            )
        if verdict.allowed:
            spec = DeviceSpec(
                f"{verdict.role}@{port}", verdict.role, ROLE_LINK.format(role=verdict.role)
            )
            state = STATE_AUTHORIZED
        else:
            spec = DeviceSpec(f"sealed@{port}", "", port)
            state = STATE_SEALED
        self._registry.put(DeviceRecord(path, spec, state, "usb", identity.id))

    def _interface(self, path: str, name: str, parent: str) -> None:
        device = self._verdicts.get(parent)
        if device is None:  # an interface of a root hub: part of the controller
            return
        if self._tampered(parent):
            self._device(parent, parent.rsplit("/", 1)[-1])
            device = self._verdicts[parent]
        interface = interface_identity(
            name, {a: self._sysfs.read(path, a) for a in INTERFACE_ATTRIBUTES}
        )
        verdict = decide_interface(device, interface)
        port = name.split(":", 1)[0]
        fresh = self._enforce(path, verdict, port, self._ids.get(parent, ""), interface.code)
        if fresh and not verdict.allowed and is_badusb(device, interface):
            self._alarm(
                "usb.badusb",
                Severity.CRITICAL,
                f"port {port}: a {device.role} presents a keyboard/HID interface"
                f" ({interface.code}); that interface is sealed",
            )

    def _tampered(self, path: str) -> bool:
        return (
            self._expected.get(path) == SEALED
            and not self._inflight.get(path)
            and self._sysfs.read(path, AUTHORIZED) == OPEN
        )

    def _enforce(self, path: str, verdict: Verdict, port: str, identity: str, codes: str) -> bool:
        """Make sysfs say ``verdict``; audit it if it is new and return whether it was."""
        desired = OPEN if verdict.allowed else SEALED
        decision = "authorized" if verdict.allowed else "sealed"
        if self._tampered(path):
            decision = "resealed"
            self._alarm(
                "usb.tamper",
                Severity.CRITICAL,
                f"port {port}: {identity or codes} was authorised by someone other than"
                " the daemon; sealed again",
            )
        if self._enforce_writes and self._sysfs.read(path, AUTHORIZED) != desired:
            self._write(path, desired)
        self._expected[path] = desired
        key = f"{decision} {verdict.reason}"
        if self._audited.get(path) == key:
            return False
        self._audited[path] = key
        self._audit.record(port, identity, codes, decision, verdict.reason)
        return True

    def _write(self, path: str, value: str) -> None:
        if value == SEALED:
            try:
                self._sysfs.write(path, AUTHORIZED, value)
            except SysfsError as err:
                if not self._sysfs.path(path).exists():  # unplugged meanwhile
                    _LOGGER.debug("%s: gone before the write: %s", path, err)
                else:
                    self._alarm("usb.seal_failed", Severity.CRITICAL, str(err))
            return
        self._inflight[path] = self._inflight.get(path, 0) + 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._writer, self._sysfs.write, path, AUTHORIZED, value)
        future.add_done_callback(lambda f: self._written(path, f))

    def _written(self, path: str, future: asyncio.Future[None]) -> None:
        left = self._inflight.get(path, 1) - 1
        if left:
            self._inflight[path] = left
        else:
            self._inflight.pop(path, None)
        if future.cancelled():
            return
        err: Optional[BaseException] = future.exception()
        if err is None:
            return
        if path not in self._expected:  # unplugged while the write was queued
            _LOGGER.debug("%s: gone before the write: %s", path, err)
            return
        self._alarm("usb.seal_failed", Severity.CRITICAL, str(err))

    def _alarm(self, code: str, severity: Severity, message: str) -> None:
        log = _LOGGER.error if severity is Severity.CRITICAL else _LOGGER.warning
        log("usbseal: %s: %s", code, message)
        self._bus.publish(Alarm(SOURCE, code, severity, message))
