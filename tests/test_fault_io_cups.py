"""Fault matrix: the A4 printer's scheduler (the test's real private cupsd) restarted
while a citizen's document is mid-print. The document prints exactly once — the step
finishes, or fails with a message the citizen can act on and a retry that does not
print it again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, List

from govkiosk.bus import Alarm
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kiosk import Kiosk, kiosk

ITEM = "id_card_print"
WAIT = 20.0


async def to_printing(k: Kiosk) -> str:
    """Start the item, present a card, confirm, agree, print: the session id."""
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


async def blocking(fn: Callable[[], Any]) -> Any:
    """Run a blocking harness call (cupsd start/stop) off the test's loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn)


def printer_alarms(k: Kiosk) -> List[str]:
    return [e.code for e in k.events if isinstance(e, Alarm) and e.source == "printer"]


async def test_cupsd_restarted_mid_print_prints_the_document_once(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        cupsd.hold()
        sid = await to_printing(k)
        await eventually(lambda: bool(cupsd.printing()), "the job mid-print", WAIT)
        [job] = cupsd.printing()
        await blocking(cupsd.restart)  # SIGTERM stops the job; the new cupsd resumes it
        cupsd.release()
        # The step rode out the restart: no failure shown, no second submission.
        state = await k.until(step="done", state="done")
        assert state["error_code"] == ""
        await k.session.call_choose(sid, "finish")
        last = await k.ended()
        assert last["state"] == "done"
        assert cupsd.printed() == [job]  # printed once, by the first job
        assert len(cupsd.connect().getJobs(which_jobs="all")) == 0  # purged
        assert printer_alarms(k) == []


async def test_cupsd_away_past_the_limit_fails_clearly_and_the_retry_prints_once(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, "print_timeout = 1.5") as k:
        cupsd.hold()
        sid = await to_printing(k)
        await eventually(lambda: bool(cupsd.printing()), "the job mid-print", WAIT)
        [job] = cupsd.printing()
        await blocking(cupsd.stop)
        state = await k.until(state="failed")
        assert state["step"] == "print_a4"
        assert (state["error_code"], state["choices"]) == (
            "printer.unavailable",
            ["retry", "cancel"],
        )
        assert "打印" in state["message"]
        assert "工作人员" in state["message"]
        assert cupsd.captured() == []
        await blocking(cupsd.start)  # staff restart the print service
        cupsd.release()
        await k.session.call_choose(sid, "retry")
        await k.until(step="done", state="done")
        await k.session.call_choose(sid, "finish")
        await k.ended()
        assert cupsd.printed() == [job]  # the retry resumed it, not a copy
        assert len(cupsd.connect().getJobs(which_jobs="all")) == 0


async def test_a_job_the_restarted_cupsd_lost_is_reported_and_printed_once_on_retry(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, "print_timeout = 5.0") as k:
        cupsd.hold()
        sid = await to_printing(k)
        await eventually(lambda: bool(cupsd.printing()), "the job mid-print", WAIT)
        await blocking(cupsd.stop)
        for spooled in (cupsd.root / "spool").glob("[cd]*"):  # the spool lost with it
            spooled.unlink()
        (cupsd.root / "cache" / "job.cache").unlink(missing_ok=True)
        cupsd.release()
        await blocking(cupsd.start)
        state = await k.until(state="failed")
        assert (state["error_code"], state["choices"]) == ("printer.job_lost", ["retry", "cancel"])
        assert "打印" in state["message"]
        assert printer_alarms(k) == ["printer.job_lost"]
        assert cupsd.captured() == []
        await k.session.call_choose(sid, "retry")
        await k.until(step="done", state="done")
        await k.session.call_choose(sid, "finish")
        await k.ended()
        assert len(cupsd.printed()) == 1
        assert printer_alarms(k) == ["printer.job_lost", "printer.recovered"]
