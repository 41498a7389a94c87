"""The acceptance check's device checks: how long each takes on the kiosk's side.

- ``a4_page``: building the A4 test page (the PDF, by hand) and printing it through a
  private cupsd with the capture backend (tests/harness): submit → CUPS reports the job
  completed (``CupsPrinter.print``), p50 over 10 runs.
- ``card_judge``: judging one read card with a simulated photo (fields, photo decoded,
  image zeroed), p50 over 50 runs.
- ``ups_megatec``: the battery test against the Megatec simulator on a pty whose test lasts
  0.5 s: ``T`` → outcome, and the overhead beyond the test itself (poll 0.05 s), 5 runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

from govkiosk.bus import EventBus
from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.cardcheck import judge
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.megatec_driver import MegatecDriver
from govkiosk.devices.ups.selftest import UpsSelfTestDone, UpsSelfTestRun
from govkiosk.devices.ups.settings import UpsSettings
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.faceverify.photo import SimulatedDecoder
from govkiosk.printing.a4 import A4Job
from govkiosk.printing.cups_printer import CupsPrinter
from govkiosk.printing.testpage import test_page

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from harness.cups import CupsServer  # noqa: E402 - the test harness runs cupsd
from harness.kiosk import card_photo  # noqa: E402

A4_RUNS = 10
CARD_RUNS = 50
UPS_RUNS = 5
TEST_SECONDS = 0.5


def _ms(values: List[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


async def _a4(cups_server: CupsServer) -> Dict[str, Any]:
    printer = CupsPrinter(
        EventBus(), cups_server.queue, str(cups_server.socket), poll_interval=0.05
    )
    build: List[float] = []
    printed: List[float] = []
    size = 0
    try:
        for _ in range(A4_RUNS):
            started = time.perf_counter()
            pdf = test_page("bench-0001", cups_server.queue, datetime.datetime.now())
            build.append(time.perf_counter() - started)
            size = len(pdf)
            job = A4Job("govkiosk test page", bytearray(pdf))
            started = time.perf_counter()
            await printer.print(job, lambda _f: None, 60.0)
            printed.append(time.perf_counter() - started)
    finally:
        printer.close()
    return {
        "pdf_bytes": size,
        "build_p50_ms": _ms(build),
        "print_completed_p50_ms": _ms(printed),
        "runs": A4_RUNS,
    }


def _card() -> Dict[str, Any]:
    rng = random.Random(5)
    photo = card_photo()
    decoder = SimulatedDecoder()
    times: List[float] = []
    passed = 0
    for _ in range(CARD_RUNS):
        identity = dataclasses.replace(synthetic.resident(rng), photo=photo)
        started = time.perf_counter()
        passed += judge(identity, decoder.decode).passed
        times.append(time.perf_counter() - started)
    return {"p50_ms": _ms(times), "passed": f"{passed}/{CARD_RUNS}"}


async def _ups() -> Dict[str, Any]:
    pty = serve_pty(MegatecSimulator(UpsModel(test_seconds=TEST_SECONDS)))
    bus = EventBus()
    settings = UpsSettings(poll_interval=0.05, timeout=1.0, self_test_poll=0.05)
    driver = MegatecDriver(DeviceSpec("ups@bench", "ups", pty.path), bus, lambda: settings)
    times: List[float] = []
    outcomes = set()
    await driver.start()
    serving = asyncio.ensure_future(driver.serve())
    try:
        for _ in range(UPS_RUNS):
            run_id = uuid.uuid4().hex
            with bus.stream(UpsSelfTestDone) as done:
                started = time.perf_counter()
                bus.publish(UpsSelfTestRun(driver.name, run_id))
                while True:
                    event = await asyncio.wait_for(done.get(), 30.0)
                    if event.run_id == run_id:
                        break
                times.append(time.perf_counter() - started)
                outcomes.add(event.outcome)
    finally:
        serving.cancel()
        await asyncio.wait([serving])
        await driver.stop()
        pty.close()
    return {
        "test_seconds": TEST_SECONDS,
        "p50_s": round(statistics.median(times), 3),
        "overhead_p50_s": round(statistics.median(times) - TEST_SECONDS, 3),
        "outcomes": sorted(outcomes),
        "runs": UPS_RUNS,
    }


def run() -> Dict[str, Any]:
    cups_server = CupsServer()
    cups_server.start()
    try:
        a4 = asyncio.run(_a4(cups_server))
    finally:
        cups_server.remove()
    return {"a4_page": a4, "card_judge": _card(), "ups_megatec": asyncio.run(_ups())}
