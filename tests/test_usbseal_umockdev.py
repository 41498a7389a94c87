"""USB sealing under umockdev: real libudev events into the daemon's pyudev monitor,
a fake sysfs whose ``authorized`` files are read back (run by ``make test-umockdev``)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, List

import pytest
import pyudev

from govkiosk.api.devices import DeviceLayer
from govkiosk.bus import Alarm, EventBus
from govkiosk.config import load_config
from govkiosk.contract.connection import Backoff
from govkiosk.dbus.service import DBusService
from govkiosk.devices.hotplug import Hotplug
from govkiosk.devices.usbseal.maintenance import MaintenanceDeniedError
from govkiosk.runtime import Runtime
from govkiosk.store import Store
from govkiosk.supervisor import Supervisor
from harness.eventually import eventually
from harness.umockdev import HUB, KEYBOARD, PRINTER, STORAGE, UsbBed

pytestmark = pytest.mark.umockdev

PRINTER_ID = "0416:5011"
TOKEN = "engineer-token-for-tests"
RULES = """\
# the reference kiosk's port map
allow receipt_printer via-port 1-2 id 0416:5011 with-interface 07:*:*
allow hub via-port 1-5 with-interface 09:*:*
allow qrscanner via-port 1-5.1 id 1eab:8003 with-interface 03:01:01
maintenance engineer_storage via-port 1-4 with-interface 08:*:*
"""
CONFIG = """\
[kiosk]
id = "kiosk-test"

[devices.usb]
rules = "{rules}"
reconcile_interval = {interval}
operators = ["engineer:{digest}"]
"""


@dataclass
class Kiosk:
    bed: UsbBed
    hub: str
    runtime: Runtime
    layer: DeviceLayer
    alarms: List[Alarm]

    def codes(self) -> List[str]:
        return [a.code for a in self.alarms]

    def row(self, device_id: str) -> dict:
        rows = [r for r in self.layer.registry.rows() if r["id"] == device_id]
        assert rows, f"{device_id} not in {self.layer.registry.rows()}"
        return rows[0]


@contextlib.asynccontextmanager
async def started_kiosk(
    tmp_path: Path, bed: UsbBed, hub: str, interval: float
) -> AsyncIterator[Kiosk]:
    rules = tmp_path / "usb.rules"
    rules.write_text(RULES)
    config_file = tmp_path / "govkiosk.toml"
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    config_file.write_text(CONFIG.format(rules=rules, interval=interval, digest=digest))
    config = load_config(config_file)
    bus = EventBus()
    state = tmp_path / "state"
    runtime = Runtime(
        config,
        state,
        bus,
        Store(state),
        Supervisor(bus, Backoff(0.05, 0.2)),
        DBusService("session"),
    )
    alarms: List[Alarm] = []
    bus.subscribe(Alarm, alarms.append)
    layer = DeviceLayer(runtime)
    await runtime.store.open()
    await runtime.supervisor.start_all()
    try:
        yield Kiosk(bed, hub, runtime, layer, alarms)
    finally:
        await runtime.supervisor.stop_all()
        await layer.close()
        await runtime.store.close()


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[Kiosk]:
    bed = UsbBed()
    hub = bed.root_hub()
    async with started_kiosk(tmp_path, bed, hub, interval=30.0) as running:
        yield running


def authorized(kiosk: Kiosk, path: str, value: str):
    return lambda: kiosk.bed.read(path) == value


async def test_root_hub_is_sealed_at_start(kiosk: Kiosk) -> None:
    await eventually(lambda: kiosk.bed.read(kiosk.hub, "authorized_default") == "0", "sealed")
    assert kiosk.bed.read(kiosk.hub, "interface_authorized_default") == "0"


async def test_allowed_device_on_its_port_is_authorized_with_its_role(kiosk: Kiosk) -> None:
    printer = kiosk.bed.device(kiosk.hub, "1-2", PRINTER_ID, interfaces=[PRINTER])
    await eventually(lambda: "receipt_printer@1-2" in str(kiosk.layer.registry.rows()), "listed")
    await asyncio.sleep(0.1)  # give a wrong write the chance to land
    assert kiosk.bed.read(printer) == "1"
    assert kiosk.bed.read(kiosk.bed.interface(printer, 0)) == "1"
    row = kiosk.row("receipt_printer@1-2")
    assert (row["role"], row["state"], row["port"]) == (
        "receipt_printer",
        "authorized",
        "/dev/govkiosk/receipt_printer",
    )
    assert row["driver"] != "none"  # the receipt family's driver was started for it
    kiosk.bed.unplug(printer)
    await eventually(lambda: not kiosk.layer.registry.rows(), "removed from the registry")


async def test_same_device_on_another_port_is_sealed(kiosk: Kiosk) -> None:
    printer = kiosk.bed.device(kiosk.hub, "1-3", PRINTER_ID, interfaces=[PRINTER])
    await eventually(authorized(kiosk, printer, "0"), "sealed")
    assert kiosk.row("sealed@1-3")["state"] == "sealed"
    await eventually(lambda: "usb.denied" in kiosk.codes(), "alarm")
    await kiosk.layer.usb.audit.flush()
    records = await kiosk.layer.usb.audit.recent()
    mine = sorted(
        (r.identity, r.interfaces, r.decision, r.rule) for r in records if r.port == "1-3"
    )
    assert mine == [
        (PRINTER_ID, "", "sealed", "default deny"),
        (PRINTER_ID, "07:01:02", "sealed", "default deny"),
    ]


async def test_storage_stick_stays_sealed_until_a_maintenance_window(kiosk: Kiosk) -> None:
    stick = kiosk.bed.device(kiosk.hub, "1-4", "0781:5567", interfaces=[STORAGE], serial="4C530001")
    await eventually(authorized(kiosk, stick, "0"), "sealed")
    usb = kiosk.layer.usb
    with pytest.raises(MaintenanceDeniedError):
        await usb.open_window("1-4", 10, "engineer", "wrong token")
    with pytest.raises(MaintenanceDeniedError):
        await usb.open_window("1-4", 10, "citizen", TOKEN)
    assert kiosk.bed.read(stick) == "0"
    await usb.open_window("1-4", 10, "engineer", TOKEN)
    await eventually(authorized(kiosk, stick, "1"), "authorized in the window")
    await eventually(authorized(kiosk, kiosk.bed.interface(stick, 0), "1"), "storage interface")
    await usb.close_window("1-4", "engineer", TOKEN)
    await eventually(authorized(kiosk, stick, "0"), "sealed again")
    await usb.audit.flush()
    decisions = [r.decision for r in reversed(await usb.audit.recent()) if r.port == "1-4"]
    assert decisions[:1] == ["sealed"]
    assert "window-opened" in decisions
    assert "window-closed" in decisions
    assert decisions[-1] == "sealed"
    assert not any("4C530001" in str(r) for r in await usb.audit.recent())  # no serials kept


async def test_badusb_keyboard_interface_on_the_printer_port(kiosk: Kiosk) -> None:
    printer = kiosk.bed.device(kiosk.hub, "1-2", PRINTER_ID, interfaces=[PRINTER, KEYBOARD])
    keyboard = kiosk.bed.interface(printer, 1)
    await eventually(authorized(kiosk, keyboard, "0"), "keyboard interface sealed")
    assert kiosk.bed.read(printer) == "1"
    assert kiosk.bed.read(kiosk.bed.interface(printer, 0)) == "1"
    await eventually(lambda: "usb.badusb" in kiosk.codes(), "alarm")
    alarm = next(a for a in kiosk.alarms if a.code == "usb.badusb")
    assert "1-2" in alarm.message
    assert alarm.severity.value == "critical"


async def test_device_behind_an_allowed_hub(kiosk: Kiosk) -> None:
    hub = kiosk.bed.device(kiosk.hub, "1-5", "05e3:0608", interfaces=[HUB], device_class=9)
    scanner = kiosk.bed.device(hub, "1-5.1", "1eab:8003", interfaces=[KEYBOARD])
    await eventually(lambda: "qrscanner@1-5.1" in str(kiosk.layer.registry.rows()), "listed")
    assert kiosk.bed.read(hub) == "1"
    assert kiosk.bed.read(scanner) == "1"
    assert kiosk.bed.read(kiosk.bed.interface(scanner, 0)) == "1"


async def test_tamper_reauthorisation_is_sealed_again(kiosk: Kiosk) -> None:
    stick = kiosk.bed.device(kiosk.hub, "1-3", "0781:5567", interfaces=[STORAGE])
    await eventually(authorized(kiosk, stick, "0"), "sealed")
    kiosk.bed.write(stick, "1")  # someone with root writes authorized by hand
    kiosk.bed.uevent(stick, "change")
    await eventually(authorized(kiosk, stick, "0"), "sealed again")
    await eventually(lambda: "usb.tamper" in kiosk.codes(), "tamper alarm")
    await kiosk.layer.usb.audit.flush()
    decisions = [r.decision for r in await kiosk.layer.usb.audit.recent() if r.port == "1-3"]
    assert "resealed" in decisions


async def test_tamper_without_a_uevent_is_caught_by_the_timer(tmp_path: Path) -> None:
    bed = UsbBed()
    hub = bed.root_hub()
    async with started_kiosk(tmp_path, bed, hub, interval=0.1) as kiosk:
        stick = bed.device(hub, "1-3", "0781:5567", interfaces=[STORAGE])
        await eventually(authorized(kiosk, stick, "0"), "sealed")
        bed.write(stick, "1")
        await eventually(authorized(kiosk, stick, "0"), "sealed again by the timer")
        assert "usb.tamper" in kiosk.codes()


async def test_devices_present_before_start_are_judged(tmp_path: Path) -> None:
    bed = UsbBed()
    hub = bed.root_hub()
    printer = bed.device(hub, "1-2", PRINTER_ID, interfaces=[PRINTER, KEYBOARD])
    stick = bed.device(hub, "1-6", "0781:5567", interfaces=[STORAGE])
    async with started_kiosk(tmp_path, bed, hub, interval=30.0) as kiosk:
        await eventually(authorized(kiosk, stick, "0"), "stick sealed")
        await eventually(authorized(kiosk, bed.interface(printer, 1), "0"), "keyboard sealed")
        assert bed.read(printer) == "1"
        assert bed.read(hub, "authorized_default") == "0"


async def test_storm_of_1000_events(kiosk: Kiosk) -> None:
    rng = random.Random(1)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    beat = asyncio.ensure_future(heartbeat())
    present = {}
    events = 0
    number = 10
    while events < 1000:
        if present and rng.random() < 0.45:
            port = rng.choice(sorted(present))
            kiosk.bed.unplug(present.pop(port))
            events += 1
        else:
            number += 1
            port = "1-2" if "1-2" not in present and rng.random() < 0.2 else f"1-{number}"
            usb_id = PRINTER_ID if rng.random() < 0.5 else "0781:5567"
            present[port] = kiosk.bed.device(
                kiosk.hub, port, usb_id, interfaces=[PRINTER, KEYBOARD]
            )
            events += 3  # the device and its two interfaces
        await asyncio.sleep(0)  # see harness.umockdev: at most 10 events may be queued

    def settled() -> bool:
        for port, path in present.items():
            allowed = port == "1-2" and kiosk.bed.read(path, "idVendor") == "0416"
            if kiosk.bed.read(path) != ("1" if allowed else "0"):
                return False
            if kiosk.bed.read(kiosk.bed.interface(path, 1)) != "0":
                return False
        return True

    await eventually(settled, "every device as the port map says", timeout=20)
    ticks_before = ticks
    await eventually(lambda: ticks > ticks_before, "the loop still runs other work")
    beat.cancel()
    listed = {r["id"].split("@")[1] for r in kiosk.layer.registry.rows()}
    assert listed == set(present)


@dataclass
class Chain:
    """A root hub, a hub on port 1-5 and a scanner behind it, all already in sysfs."""

    bed: UsbBed  # the test bed lives as long as the chain
    context: pyudev.Context
    root: pyudev.Device
    hub: pyudev.Device
    scanner: pyudev.Device


@pytest.fixture
def chain() -> Chain:
    bed = UsbBed()
    root = bed.root_hub()
    hub = bed.device(root, "1-5", "05e3:0608", interfaces=[HUB], device_class=9)
    scanner = bed.device(hub, "1-5.1", "1eab:8003", interfaces=[KEYBOARD])
    context = pyudev.Context()
    return Chain(
        bed,
        context,
        *(pyudev.Devices.from_sys_path(context, path) for path in (root, hub, scanner)),
    )


def test_child_announced_before_its_hub_waits_for_it(chain: Chain) -> None:
    seen: List[str] = []
    hotplug = Hotplug(
        chain.context, lambda action, device: seen.append(f"{action} {device.sys_name}")
    )
    hotplug.dispatch("add", chain.root)
    hotplug.dispatch("add", chain.scanner)
    assert seen == ["add usb1"]
    assert hotplug.held() == 1
    hotplug.dispatch("add", chain.hub)
    assert seen == ["add usb1", "add 1-5", "add 1-5.1"]
    assert hotplug.held() == 0


def test_a_held_child_is_released_by_enumeration(chain: Chain) -> None:
    seen: List[str] = []
    hotplug = Hotplug(chain.context, lambda _action, device: seen.append(device.sys_name))
    hotplug.dispatch("add", chain.scanner)
    assert seen == []
    hotplug.enumerate()
    assert seen.index("1-5") < seen.index("1-5.1")
    assert hotplug.held() == 0
