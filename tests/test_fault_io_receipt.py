"""Fault matrix: the receipt printer (the ESC/POS simulator over its real TCP link, as
``[[devices.static]]``) runs out of paper or has its cover opened while the citizen's
slip is printing. The job's outcome is reported, the citizen reads that the document
is printed and the slip is not, staff get an alarm that clears when paper is loaded or
the cover closed, and the citizen's retry prints the slip."""

from __future__ import annotations

from pathlib import Path
from typing import List

from govkiosk.bus import Alarm
from govkiosk.devices.receipt.events import JobOutcome, ReceiptJobFinished
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kiosk import Kiosk, kiosk

ITEM = "household_register_print"  # A4 document and a receipt slip, no camera step
WAIT = 20.0


async def to_receipt(k: Kiosk) -> str:
    """A session of ITEM up to its A4 print (the slip follows): the session id."""
    sid: str = await k.session.call_start_session(ITEM, "zh_CN")
    await k.until(step="identity", state="waiting")
    await k.card()
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    await k.session.call_choose(sid, "agree")
    await k.until(step="preview", state="waiting")
    await k.session.call_choose(sid, "print")
    return sid


def alarms(k: Kiosk) -> List[str]:
    return [e.code for e in k.events if isinstance(e, Alarm) and e.source == "receipt"]


def outcomes(k: Kiosk) -> List[JobOutcome]:
    return [e.outcome for e in k.events if isinstance(e, ReceiptJobFinished)]


async def fail_then_retry(k: Kiosk, sid: str, code: str) -> None:
    state = await k.until(state="failed")
    assert (state["step"], state["error_code"]) == ("print_receipt", "receipt.failed")
    assert state["choices"] == ["retry", "cancel"]
    assert "证明已打印" in state["message"]  # the document is out: take it
    assert state["staff_code"]
    assert outcomes(k) == [JobOutcome.FAILED]
    assert alarms(k) == [code]


async def test_paper_out_mid_slip_is_reported_alarmed_and_cleared_by_loading_paper(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        k.printer.run_out_of_paper(after_lines=2)  # the roll ends two lines into the slip
        sid = await to_receipt(k)
        await fail_then_retry(k, sid, "receipt.paper_out")
        assert len(cupsd.printed()) == 1  # the document itself is printed
        k.printer.load_paper()
        await eventually(lambda: "receipt.recovered" in alarms(k), "the alarm cleared", WAIT)
        await k.session.call_choose(sid, "retry")
        state = await k.until(step="done", state="done")
        assert state["receipt_printed"]
        await k.session.call_choose(sid, "finish")
        await k.ended()
        assert outcomes(k) == [JobOutcome.FAILED, JobOutcome.PRINTED]
        assert alarms(k) == ["receipt.paper_out", "receipt.recovered"]
        assert len(cupsd.printed()) == 1  # the retry printed no second document
        # The rest of the cut-short slip was dropped (DLE DC4 fn=8), so loading paper does
        # not finish it: the retry gives the one whole slip.
        assert len(k.printer.receipts) == 1


async def test_cover_opened_mid_slip_is_reported_alarmed_and_cleared_by_closing_it(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        k.printer.set_busy(True)  # the slip's bytes wait in the printer's buffer
        sid = await to_receipt(k)
        await eventually(lambda: k.printer.waiting_bytes > 0, "the slip mid-print", WAIT)
        k.printer.set_cover_open(True)
        k.printer.set_busy(False)
        await fail_then_retry(k, sid, "receipt.cover_open")
        k.printer.set_cover_open(False)
        await eventually(lambda: "receipt.recovered" in alarms(k), "the alarm cleared", WAIT)
        await k.session.call_choose(sid, "retry")
        state = await k.until(step="done", state="done")
        assert state["receipt_printed"]
        await k.session.call_choose(sid, "finish")
        await k.ended()
        assert outcomes(k) == [JobOutcome.FAILED, JobOutcome.PRINTED]
        assert alarms(k) == ["receipt.cover_open", "receipt.recovered"]
        assert len(k.printer.receipts) == 1  # the held slip was dropped; the retry's slip
        assert len(cupsd.printed()) == 1
