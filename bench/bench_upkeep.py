"""Upkeep: how early the receipt-paper alarm comes, and what the self-test and the report
cost.

A simulated receipt printer (over a pty, through the real driver) holds a roll of
``ROLL_MM`` counted in printed lines; typical slips (a title, eight lines, a QR code, a
cut) are printed until the paper runs out. Reported: the slip at which ``receipt_low``
fired, slips printed after it until paper-out, the estimate's share of the roll at
paper-out (above 100 %: the estimate counts more than the simulator used, so it warns
early; the simulator counts a QR code as one line and a cut as none, the estimate their
paper). Then the median and worst time of a self-test and of the telemetry report on a
state database with 30 days of availability transitions.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from govkiosk.bus import Alarm, EventBus
from govkiosk.devices.receipt.driver import ReceiptPrinter
from govkiosk.devices.receipt.escpos import LINE_MM, Cut, Line, QrCode, Receipt, Style
from govkiosk.devices.receipt.events import JobOutcome
from govkiosk.devices.receipt.settings import ReceiptSettings
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from govkiosk.store import Store
from govkiosk.upkeep.availability import IN_SERVICE, OUT_OF_SERVICE
from govkiosk.upkeep.selftest import Probe
from govkiosk.upkeep.service import UpkeepService
from govkiosk.upkeep.settings import ConsumablesSettings, SelfTestSettings
from govkiosk.upkeep.store import UpkeepStore

ROLL_MM = 5000
SUPPLIES = ConsumablesSettings(receipt_roll_mm=ROLL_MM, warn_percent=10)
FAST = ReceiptSettings(status_timeout=0.3, job_timeout=3.0, poll_interval=0.02)
RUNS = 50


def _slip(number: int) -> Receipt:
    return Receipt(
        (
            Line("政务服务凭条", Style(height=2)),
            *(Line(f"第 {n} 行 ……") for n in range(8)),
            QrCode(f"https://verify.example/r/{number:06d}"),
            Cut(),
        )
    )


async def _paper(directory: Path) -> Dict[str, Any]:
    bus = EventBus()
    low: List[int] = []
    printed = [0]
    bus.subscribe(Alarm, lambda a: low.append(printed[0]) if a.code == "receipt_low" else None)
    printer = SimPrinter()
    printer.run_out_of_paper(after_lines=int(ROLL_MM / LINE_MM))
    pty = serve_pty(SimConnection(printer))
    driver = ReceiptPrinter(DeviceSpec("receipt@bench", "receipt", pty.path), bus, lambda: FAST)
    store = Store(directory)
    await store.open()
    service = UpkeepService(
        UpkeepStore(store),
        bus,
        Probe(services=list, devices=list, state_dir=directory),
        SelfTestSettings,
        lambda: SUPPLIES,
        busy=lambda: False,
    )
    await service.start()
    await driver.start()
    tasks = [asyncio.ensure_future(driver.serve()), asyncio.ensure_future(service.serve())]
    try:
        for number in range(10_000):
            result = await driver.print(_slip(number), f"job-{number}")
            await service.settled()
            if result.outcome is not JobOutcome.PRINTED:
                break
            printed[0] += 1
        used = (await service.upkeep.level("receipt", SUPPLIES)).used
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        await driver.stop()
        await service.stop()
        await store.close()
        pty.close()
    return {
        "roll_mm": ROLL_MM,
        "slips_printed": printed[0],
        "alarm_after_slip": low[0] if low else None,
        "slips_between_alarm_and_paper_out": printed[0] - low[0] if low else None,
        "estimate_percent_of_roll_at_paper_out": round(100 * used / ROLL_MM, 1),
    }


async def _costs(directory: Path) -> Dict[str, Any]:
    store = Store(directory)
    await store.open()
    upkeep = UpkeepStore(store)
    await upkeep.migrate()
    now = time.time()
    for n in range(30 * 24):  # a stage change every hour for 30 days
        await upkeep.transition(
            now - 30 * 86400 + n * 3600, OUT_OF_SERVICE if n % 7 else IN_SERVICE
        )
    service = UpkeepService(
        upkeep,
        EventBus(),
        Probe(services=list, devices=list, state_dir=directory),
        SelfTestSettings,
        lambda: SUPPLIES,
        busy=lambda: False,
    )
    selftest: List[float] = []
    report: List[float] = []
    try:
        for _ in range(RUNS):
            start = time.perf_counter()
            await service.run_selftest()
            selftest.append(time.perf_counter() - start)
            start = time.perf_counter()
            await upkeep.report(now, SUPPLIES)
            report.append(time.perf_counter() - start)
    finally:
        service.close()
        await store.close()
    return {
        "selftest_ms_median": round(1000 * statistics.median(selftest), 2),
        "selftest_ms_max": round(1000 * max(selftest), 2),
        "report_ms_median": round(1000 * statistics.median(report), 2),
        "report_ms_max": round(1000 * max(report), 2),
        "runs": RUNS,
    }


def run() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        return {
            "receipt_paper": asyncio.run(_paper(Path(first))),
            "costs": asyncio.run(_costs(Path(second))),
        }
