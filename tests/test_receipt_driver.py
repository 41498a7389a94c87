"""The receipt driver against the simulator over a real pty, TCP and a file node."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import asynccontextmanager
from typing import AsyncIterator, List, Tuple

import pytest

from govkiosk.bus import EventBus
from govkiosk.devices.receipt.driver import ReceiptPrinter
from govkiosk.devices.receipt.errors import ReceiptTimeoutError
from govkiosk.devices.receipt.escpos import Cut, Line, QrCode, Receipt, length_mm
from govkiosk.devices.receipt.events import (
    JobOutcome,
    ReceiptJobFinished,
    ReceiptPrinterStateChanged,
)
from govkiosk.devices.receipt.settings import ReceiptSettings
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_pty, serve_tcp, socket_url
from govkiosk.devices.spec import DeviceSpec
from harness.eventually import eventually
from harness.faulty_proxy import Faults, FaultyProxy

FAST = ReceiptSettings(
    status_timeout=0.3, job_timeout=3.0, poll_interval=0.05, idle_poll_interval=0.2
)
RECEIPT = Receipt(
    (
        Line("政务服务凭条"),
        Line("事项：无犯罪记录证明"),
        Line("证件号：2301**********1234"),
        QrCode("https://verify.example/r/0001"),
        Cut(),
    )
)


class Events:
    def __init__(self, bus: EventBus) -> None:
        self.jobs: List[ReceiptJobFinished] = []
        self.states: List[str] = []
        bus.subscribe(ReceiptJobFinished, self.jobs.append)
        bus.subscribe(ReceiptPrinterStateChanged, lambda e: self.states.append(e.state))


@asynccontextmanager
async def sim_port(printer: SimPrinter, kind: str) -> AsyncIterator[str]:
    if kind == "tcp":
        server = await serve_tcp(lambda: SimConnection(printer))
        try:
            yield socket_url(server)
        finally:
            server.close()
            await server.wait_closed()
        return
    pty = serve_pty(SimConnection(printer))
    try:
        yield pty.path if kind == "pty" else f"file://{pty.path}"
    finally:
        pty.close()


@asynccontextmanager
async def driving(
    port: str, settings: ReceiptSettings = FAST
) -> AsyncIterator[Tuple[ReceiptPrinter, Events, asyncio.Task[None]]]:
    bus = EventBus()
    events = Events(bus)
    driver = ReceiptPrinter(
        DeviceSpec("receipt_printer@test", "receipt_printer", port), bus, lambda: settings
    )
    await driver.start()
    serving = asyncio.ensure_future(driver.serve())
    try:
        yield driver, events, serving
    finally:
        serving.cancel()
        await asyncio.wait([serving])
        await driver.stop()


@pytest.mark.parametrize("kind", ["pty", "tcp", "file"])
async def test_a_job_is_printed_and_confirmed(kind: str) -> None:
    printer = SimPrinter()
    async with sim_port(printer, kind) as port, driving(port) as (driver, events, _):
        assert driver.state.value == "ready"
        result = await asyncio.wait_for(driver.print(RECEIPT, "job-1"), 5)
    assert (result.job_id, result.outcome, result.reason) == ("job-1", JobOutcome.PRINTED, "")
    assert printer.receipts[0].lines == [
        "政务服务凭条",
        "事项：无犯罪记录证明",
        "证件号：2301**********1234",
    ]
    assert printer.receipts[0].qr_codes == ["https://verify.example/r/0001"]
    assert printer.receipts[0].cut == "partial"
    assert events.jobs == [
        ReceiptJobFinished(
            "receipt_printer@test", "job-1", JobOutcome.PRINTED, "", length_mm(RECEIPT)
        )
    ]
    # Three lines, a QR code and a cut: a few centimetres of paper.
    assert 30 < events.jobs[0].length_mm < 100


async def test_paper_out_mid_job_fails_the_job_with_the_reason() -> None:
    printer = SimPrinter()
    printer.run_out_of_paper(after_lines=2)
    async with sim_port(printer, "pty") as port, driving(port) as (driver, events, serving):
        result = await asyncio.wait_for(driver.print(RECEIPT), 5)
        assert (result.outcome, result.reason) == (JobOutcome.FAILED, "paper out while printing")
        assert driver.state.value == "paper_out"
        assert not serving.done()  # the printer answers: the driver carries on
        refused = await asyncio.wait_for(driver.print(RECEIPT), 5)
        assert (refused.outcome, refused.reason) == (JobOutcome.REFUSED, "paper out")
        assert printer.waiting_bytes == 0  # the unprinted rest of the slip was dropped
        printer.load_paper()  # the roll's end goes with the first two lines
        again = await asyncio.wait_for(driver.print(RECEIPT), 5)
    assert again.outcome is JobOutcome.PRINTED
    # One slip comes out, whole: the cut-short one did not finish by itself.
    assert len(printer.receipts) == 1
    assert printer.receipts[0].lines[:2] == ["政务服务凭条", "事项：无犯罪记录证明"]
    assert printer.receipts[0].qr_codes == ["https://verify.example/r/0001"]
    assert [e.outcome for e in events.jobs] == [
        JobOutcome.FAILED,
        JobOutcome.REFUSED,
        JobOutcome.PRINTED,
    ]
    assert "paper_out" in events.states


async def test_a_printer_without_clear_buffers_finishes_the_held_slip_and_the_driver_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    printer = SimPrinter()
    printer.knows_clear = False  # ignores DLE DC4 fn=8, as some clones do
    printer.set_busy(True)  # the slip waits in the printer's buffer
    async with sim_port(printer, "tcp") as port, driving(port) as (driver, _, serving):
        job = asyncio.ensure_future(driver.print(RECEIPT))
        await eventually(lambda: printer.waiting_bytes > 0, "the slip in the buffer", 5)
        printer.set_cover_open(True)
        printer.set_busy(False)
        result = await asyncio.wait_for(job, 5)
        assert (result.outcome, result.reason) == (JobOutcome.FAILED, "cover open while printing")
        assert printer.waiting_bytes > 0  # not dropped: the printer did not understand
        assert "did not confirm dropping" in caplog.text
        assert not serving.done()
        printer.set_cover_open(False)  # the held slip finishes by itself
    assert len(printer.receipts) == 1


async def test_cover_open_before_the_job_refuses_it_and_sends_nothing() -> None:
    printer = SimPrinter()
    async with sim_port(printer, "tcp") as port, driving(port) as (driver, events, _):
        printer.set_cover_open(True)
        result = await asyncio.wait_for(driver.print(RECEIPT), 5)
    assert (result.outcome, result.reason) == (JobOutcome.REFUSED, "cover open")
    assert printer.receipts == []
    assert printer.printout.current.blocks == ()
    assert events.states[-2:] == ["cover_open", "disconnected"]


async def test_offline_printer_is_reported_by_the_idle_poll() -> None:
    printer = SimPrinter()
    async with sim_port(printer, "pty") as port, driving(port) as (driver, _events, _):
        printer.set_offline(True)
        for _ in range(100):
            if driver.state.value == "offline":
                break
            await asyncio.sleep(0.02)
        assert driver.state.value == "offline"
        assert (await driver.print(RECEIPT)).reason == "offline"


async def test_slow_answers_time_out_and_the_service_fails_cleanly() -> None:
    printer = SimPrinter()
    async with sim_port(printer, "tcp") as port, driving(port) as (driver, _events, serving):
        printer.delay = 1.0  # > status_timeout
        result = await asyncio.wait_for(driver.print(RECEIPT), 5)
        assert result.outcome is JobOutcome.REFUSED
        assert "no answer to status request 1 within 0.3 s" in result.reason
        with pytest.raises(ReceiptTimeoutError):
            await serving  # the supervisor reconnects with backoff
        assert driver.state.value == "not_responding"
    assert printer.receipts == []


async def test_a_link_stalling_mid_job_fails_the_job() -> None:
    printer = SimPrinter()
    async with sim_port(printer, "tcp") as target:
        # start: 4 requests (12 bytes) + 4 answers; the job's own check: the same again.
        proxy = FaultyProxy(target, Faults(stall_after=32))
        port = await proxy.start()
        try:
            async with driving(port) as (driver, events, serving):
                result = await asyncio.wait_for(driver.print(RECEIPT), 5)
                with pytest.raises(ReceiptTimeoutError):
                    await serving
        finally:
            await proxy.close()
    assert result.outcome is JobOutcome.FAILED
    assert "no answer to status request" in result.reason
    assert events.states[-1] == "not_responding"


async def test_bytes_one_at_a_time_with_delays_still_print() -> None:
    printer = SimPrinter()
    # Every byte of the job crosses the proxy on its own, with a delay: on a busy machine
    # the status answer behind them takes longer than FAST's 0.3 s. The point here is the
    # reassembly, so the limits are a slow serial line's.
    slow_line = dataclasses.replace(FAST, status_timeout=3.0, job_timeout=10.0)
    async with sim_port(printer, "tcp") as target:
        proxy = FaultyProxy(target, Faults(one_byte_at_a_time=True, max_delay=0.001, seed=7))
        port = await proxy.start()
        try:
            async with driving(port, slow_line) as (driver, _events, _):
                result = await asyncio.wait_for(driver.print(RECEIPT), 10)
        finally:
            await proxy.close()
    assert result.outcome is JobOutcome.PRINTED
    assert printer.receipts[0].lines[2] == "证件号：2301**********1234"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_lost_bytes_never_leave_a_job_without_an_outcome(seed: int) -> None:
    printer = SimPrinter()
    async with sim_port(printer, "tcp") as target:
        proxy = FaultyProxy(target, Faults(drop_rate=0.02, seed=seed))
        port = await proxy.start()
        try:
            bus = EventBus()
            events = Events(bus)
            driver = ReceiptPrinter(
                DeviceSpec("r@lossy", "receipt_printer", port), bus, lambda: FAST
            )
            try:
                await driver.start()
            except ReceiptTimeoutError:
                return  # a lost status reply at start: the supervisor would retry
            serving = asyncio.ensure_future(driver.serve())
            jobs = [driver.submit(RECEIPT) for _ in range(3)]
            outcomes = asyncio.gather(*(j.result for j in jobs))
            await asyncio.wait([serving, outcomes], timeout=15, return_when=asyncio.FIRST_COMPLETED)
            serving.cancel()
            await asyncio.wait([serving])
            await driver.stop()
        finally:
            await proxy.close()
    assert all(j.result.done() for j in jobs)
    assert len(events.jobs) == 3
    printed = [j for j in jobs if j.result.result().outcome is JobOutcome.PRINTED]
    assert len(printer.receipts) >= len(printed)


async def test_stopping_mid_job_fails_it_and_refuses_the_queue() -> None:
    printer = SimPrinter()
    async with sim_port(printer, "pty") as port, driving(port) as (driver, _events, serving):
        printer.set_busy(True)  # a long print: the job is sent, not yet confirmed
        first = driver.submit(RECEIPT)
        second = driver.submit(RECEIPT)
        for _ in range(200):  # until the first job has been sent
            if printer.waiting_bytes:
                break
            await asyncio.sleep(0.01)
        serving.cancel()
        await asyncio.wait([serving])
        await driver.stop()
    assert (first.result.result().outcome, first.result.result().reason) == (
        JobOutcome.FAILED,
        "printer driver stopped",
    )
    assert (second.result.result().outcome, second.result.result().reason) == (
        JobOutcome.REFUSED,
        "printer disconnected",
    )


async def test_jobs_are_refused_when_not_connected_or_unprintable() -> None:
    driver = ReceiptPrinter(
        DeviceSpec("r@none", "receipt_printer", "/nonexistent"), EventBus(), lambda: FAST
    )
    job = driver.submit(RECEIPT)
    assert job.result.result().reason == "printer not connected"
    bad = driver.submit(Receipt((Line("bad\x1bline"),)))
    assert bad.result.result().outcome is JobOutcome.REFUSED
    assert "control characters" in bad.result.result().reason


async def test_events_and_logs_carry_no_receipt_content(caplog: pytest.LogCaptureFixture) -> None:
    printer = SimPrinter()
    caplog.set_level("DEBUG")
    async with sim_port(printer, "pty") as port, driving(port) as (driver, events, _):
        await asyncio.wait_for(driver.print(RECEIPT), 5)
    assert "2301" not in caplog.text
    assert "无犯罪" not in caplog.text
    assert all("2301" not in repr(e) for e in events.jobs)
