"""The upkeep service with real parts: the state database, the receipt driver against the
printer simulator over a pty, the bus; synchronised on events and on the service's queue."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Callable, List, Optional, Tuple

from govkiosk.bus import Alarm, EventBus
from govkiosk.devices.receipt.driver import ReceiptPrinter
from govkiosk.devices.receipt.escpos import LINE_MM, Cut, Line, Receipt
from govkiosk.devices.receipt.events import JobOutcome
from govkiosk.devices.receipt.settings import ReceiptSettings
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from govkiosk.power.policy import Stage
from govkiosk.power.service import ShutdownStageChanged
from govkiosk.printing.a4 import A4Printed
from govkiosk.store import DB_NAME, Store
from govkiosk.supervisor import ServiceHealth, ServiceState
from govkiosk.upkeep.availability import DOWN, IN_SERVICE, OUT_OF_SERVICE
from govkiosk.upkeep.selftest import Probe
from govkiosk.upkeep.service import SelfTestFinished, UpkeepService, next_run
from govkiosk.upkeep.settings import ConsumablesSettings, SelfTestSettings
from govkiosk.upkeep.store import UpkeepStore

FAST = ReceiptSettings(
    status_timeout=0.3, job_timeout=3.0, poll_interval=0.05, idle_poll_interval=0.2
)
ROLL_MM = 1000
SUPPLIES = ConsumablesSettings(receipt_roll_mm=ROLL_MM, a4_tray_sheets=50, warn_percent=10)
PRINTER_ID = "receipt@test"


def slip(number: int) -> Receipt:
    return Receipt((*(Line(f"凭条 {number} 第 {n} 行") for n in range(8)), Cut()))


class Alarms:
    def __init__(self, bus: EventBus) -> None:
        self.seen: List[Alarm] = []
        self.arrived = asyncio.Event()
        bus.subscribe(Alarm, self._on)

    def _on(self, alarm: Alarm) -> None:
        self.seen.append(alarm)
        self.arrived.set()

    def codes(self) -> List[str]:
        return [a.code for a in self.seen]


@asynccontextmanager
async def upkeep(
    tmp_path: Path,
    bus: EventBus,
    *,
    probe: Optional[Probe] = None,
    selftest: Optional[SelfTestSettings] = None,
    busy: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.time,
    stop: bool = True,
) -> AsyncIterator[UpkeepService]:
    store = Store(tmp_path / "state")
    await store.open()
    service = UpkeepService(
        UpkeepStore(store),
        bus,
        probe or Probe(services=list, devices=list, state_dir=tmp_path),
        lambda: selftest or SelfTestSettings(),
        lambda: SUPPLIES,
        busy=busy,
        clock=clock,
    )
    await service.start()
    serving = asyncio.ensure_future(service.serve())
    try:
        yield service
    finally:
        serving.cancel()
        await asyncio.wait([serving])
        if stop:
            await service.stop()
        service.close()
        await store.close()


async def test_the_receipt_alarm_fires_before_the_paper_runs_out(tmp_path: Path) -> None:
    bus = EventBus()
    alarms = Alarms(bus)
    printer = SimPrinter()
    # The simulated roll is exactly the configured length, counted in printed lines.
    printer.run_out_of_paper(after_lines=int(ROLL_MM / LINE_MM))
    pty = serve_pty(SimConnection(printer))
    driver = ReceiptPrinter(DeviceSpec(PRINTER_ID, "receipt_printer", pty.path), bus, lambda: FAST)
    await driver.start()
    driving = asyncio.ensure_future(driver.serve())
    outcomes: List[JobOutcome] = []
    warned_at: Optional[Tuple[int, bool, float]] = None
    try:
        async with upkeep(tmp_path, bus) as service:
            for number in range(60):
                result = await asyncio.wait_for(driver.print(slip(number), f"job-{number}"), 5)
                outcomes.append(result.outcome)
                await asyncio.wait_for(service.settled(), 5)
                if warned_at is None and "receipt_low" in alarms.codes():
                    left = (await service.upkeep.level("receipt", SUPPLIES)).remaining_percent
                    warned_at = (number, printer.paper_out, left)
                if result.outcome is not JobOutcome.PRINTED:
                    break
            refilled = await service.refill("receipt")
    finally:
        driving.cancel()
        await asyncio.wait([driving])
        await driver.stop()
        pty.close()
    assert warned_at is not None, alarms.codes()
    number, paper_out, left = warned_at
    # Warned while the printer still had paper, and some receipts before it ran out.
    assert not paper_out
    assert 0 < left < 10
    assert JobOutcome.PRINTED not in outcomes[-1:], "the test printed until paper-out"
    assert all(o is JobOutcome.PRINTED for o in outcomes[: number + 1])
    assert len(outcomes) - 1 > number, "the alarm came before the first failed receipt"
    alarm = next(a for a in alarms.seen if a.code == "receipt_low")
    assert alarm.source == "upkeep"
    assert "govkioskctl consumables refill receipt" in alarm.message
    assert alarms.codes().count("receipt_low") == 1
    assert (refilled.used, refilled.remaining_percent, refilled.low) == (0.0, 100.0, False)


async def test_a4_sheets_are_counted_and_the_tray_warns_once(tmp_path: Path) -> None:
    bus = EventBus()
    alarms = Alarms(bus)
    async with upkeep(tmp_path, bus) as service:
        for _ in range(23):
            bus.publish(A4Printed(2))
        await asyncio.wait_for(service.settled(), 5)
        level = await service.upkeep.level("a4", SUPPLIES)
        assert (level.used, level.remaining, level.low) == (46.0, 4.0, True)
        assert alarms.codes() == ["a4_low"]
        bus.publish(A4Printed(1))
        await asyncio.wait_for(service.settled(), 5)
        assert alarms.codes() == ["a4_low"]
        await service.refill("a4")
        assert (await service.upkeep.level("a4", SUPPLIES)).used == 0.0


async def test_each_failed_check_is_stored_and_alarmed(tmp_path: Path) -> None:
    bus = EventBus()
    alarms = Alarms(bus)
    finished: List[SelfTestFinished] = []
    bus.subscribe(SelfTestFinished, finished.append)
    devices = [
        {"id": PRINTER_ID, "role": "receipt_printer", "driver": "running"},
        {"id": "ups@test", "role": "ups", "driver": "failed (no upsd at 127.0.0.1:3493)"},
    ]
    probe = Probe(
        services=lambda: [
            ServiceHealth("session", ServiceState.RUNNING, "", 0),
            ServiceHealth("ups@test", ServiceState.FAILED, "no upsd", 3),
        ],
        devices=lambda: devices,
        state_dir=tmp_path,
    )
    # A printer that reports paper out, from the simulator through the real driver.
    printer = SimPrinter()
    printer.run_out_of_paper()
    pty = serve_pty(SimConnection(printer))
    driver = ReceiptPrinter(DeviceSpec(PRINTER_ID, "receipt", pty.path), bus, lambda: FAST)
    try:
        async with upkeep(
            tmp_path, bus, probe=probe, selftest=SelfTestSettings(disk_min_mb=10**7)
        ) as service:
            await driver.start()
            result = await service.run_selftest()
    finally:
        await driver.stop()
        pty.close()
    by_name = {c.name: c for c in result.checks}
    assert not result.passed
    assert [c.name for c in result.checks if not c.passed] == [
        "services",
        "devices",
        "printers",
        "ups",
        "disk",
    ]
    assert by_name["printers"].detail.startswith(f"{PRINTER_ID}: paper_out")
    assert by_name["cameras"].passed
    assert "ups@test failed (no upsd)" in by_name["services"].detail
    assert alarms.codes() == [
        "selftest_services",
        "selftest_devices",
        "selftest_printers",
        "selftest_ups",
        "selftest_disk",
    ]
    assert finished == [SelfTestFinished("manual", tuple(finished[0].failed))]
    # Stored: the last result read back from SQLite as it was.
    store = Store(tmp_path / "state")
    await store.open()
    try:
        stored = await UpkeepStore(store).last_result()
    finally:
        await store.close()
    assert stored == result


async def test_the_scheduled_run_waits_while_a_citizen_is_served(tmp_path: Path) -> None:
    bus = EventBus()
    finished: List[SelfTestFinished] = []
    done = asyncio.Event()
    bus.subscribe(SelfTestFinished, lambda e: (finished.append(e), done.set()))
    # The kiosk's clock 0.2 s before the self-test's time of day.
    shift = next_run(time.time(), "03:30") - time.time() - 0.2
    asked = asyncio.Event()
    calls = [0]
    serving = [True]

    def busy() -> bool:
        calls[0] += 1
        if calls[0] >= 3:
            asked.set()
        return serving[0]

    async with upkeep(
        tmp_path,
        bus,
        selftest=SelfTestSettings(retry=0.05),
        busy=busy,
        clock=lambda: time.time() + shift,
    ):
        await asyncio.wait_for(asked.wait(), 10)
        assert finished == []  # asked three times, busy each time: nothing ran
        serving[0] = False
        await asyncio.wait_for(done.wait(), 10)
    assert [f.trigger for f in finished] == ["schedule"]


async def test_availability_records_stages_stops_and_crashes(tmp_path: Path) -> None:
    bus = EventBus()
    now = [1_000_000.0]

    def clock() -> float:
        return now[0]

    async with upkeep(tmp_path, bus, clock=clock) as service:
        now[0] += 3600
        bus.publish(ShutdownStageChanged(Stage.OUT_OF_SERVICE.value, "battery low"))
        await asyncio.wait_for(service.settled(), 5)
        now[0] += 600
        bus.publish(ShutdownStageChanged(Stage.NORMAL.value, "mains back"))
        await asyncio.wait_for(service.settled(), 5)
        now[0] += 2400
        await service.upkeep.heartbeat(now[0])
    # Stopped cleanly: "down" recorded. Restarted 1000 s later, then "crashed" (no stop).
    now[0] += 1000
    async with upkeep(tmp_path, bus, clock=clock, stop=False) as service:
        now[0] += 500
        await service.upkeep.heartbeat(now[0])
    now[0] += 300
    async with upkeep(tmp_path, bus, clock=clock) as service:
        transitions = await service.upkeep.transitions(0.0)
        report = await service.upkeep.availability(now[0])
    states = [state for _time, state in transitions]
    assert states == [IN_SERVICE, OUT_OF_SERVICE, IN_SERVICE, DOWN, IN_SERVICE, DOWN, IN_SERVICE]
    # Known: 8400 s; in service 3600 + 2400 + 500 = 6500 s.
    assert report["24h"] == round(100 * 6500 / 8400, 3)
    assert report["30d"] == report["24h"]


async def test_nothing_personal_reaches_the_tables(tmp_path: Path) -> None:
    bus = EventBus()
    async with upkeep(tmp_path, bus) as service:
        bus.publish(A4Printed(3))
        await service.run_selftest()
        await asyncio.wait_for(service.settled(), 5)
        report = await service.upkeep.report(time.time(), SUPPLIES)
    json.dumps(report)  # telemetry-ready
    with sqlite3.connect(str(tmp_path / "state" / DB_NAME)) as conn:
        tables = sorted(
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0].startswith("upkeep_")
        )
        columns = {t: [c[1] for c in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    assert columns == {
        "upkeep_availability": ["id", "time", "state"],
        "upkeep_consumables": ["name", "used", "refilled"],
        "upkeep_heartbeat": ["one", "time"],
        "upkeep_selftest": ["id", "started", "finished", "passed", "trigger", "checks"],
    }
    assert report["consumables"][1]["used"] == 3.0
