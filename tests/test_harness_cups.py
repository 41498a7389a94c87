"""The CUPS harness: jobs reach the capture backend byte for byte; backend failures show."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cups
import pytest

from harness.cups import BACKEND_FAILED, CupsServer
from harness.process import wait_until

TIMEOUT = 30.0
# PostScript-looking on purpose: a raw queue must pass it through unfiltered.
PAYLOAD = b"%!PS-Adobe-3.0\n" + bytes(range(256)) * 8


@pytest.fixture
def connection(cupsd: CupsServer) -> Iterator[cups.Connection]:
    """pycups through its process-wide server setting, as print code will use it."""
    cups.setServer(str(cupsd.socket))
    try:
        yield cups.Connection()
    finally:
        cups.setServer("")  # back to the default (CUPS_SERVER, client.conf)


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "form.prn"
    path.write_bytes(PAYLOAD)
    return path


def wait_printer_state(cupsd: CupsServer, state: int) -> None:
    wait_until(
        lambda: cupsd.printer_state()["printer-state"] == state,
        TIMEOUT,
        f"printer state {state}",
    )


def test_job_bytes_arrive_and_job_completes(
    cupsd: CupsServer, connection: cups.Connection, document: Path
) -> None:
    job = connection.printFile(cupsd.queue, str(document), "form", {})
    attributes = cupsd.wait_job(job, {cups.IPP_JOB_COMPLETED, cups.IPP_JOB_ABORTED}, TIMEOUT)
    assert attributes["job-state"] == cups.IPP_JOB_COMPLETED
    assert cupsd.captured_jobs() == {job: PAYLOAD}


def test_paper_out_stops_the_queue_and_holds_the_job(
    cupsd: CupsServer, connection: cups.Connection, document: Path
) -> None:
    cupsd.fail()
    job = connection.printFile(cupsd.queue, str(document), "form", {})
    wait_printer_state(cupsd, cups.IPP_PRINTER_STOPPED)
    printer = cupsd.printer_state()
    assert "media-empty-error" in printer["printer-state-reasons"]
    assert printer["printer-state-message"] == "paper out"
    held = connection.getJobAttributes(job)
    assert held["job-state"] == cups.IPP_JOB_PENDING
    assert held["job-state-reasons"] == "printer-stopped"
    assert cupsd.captured() == []

    cupsd.repair()
    attributes = cupsd.wait_job(job, {cups.IPP_JOB_COMPLETED, cups.IPP_JOB_ABORTED}, TIMEOUT)
    assert attributes["job-state"] == cups.IPP_JOB_COMPLETED
    assert cupsd.captured() == [PAYLOAD]
    assert "media-empty-error" not in cupsd.printer_state()["printer-state-reasons"]


def test_backend_failure_with_abort_policy_aborts_the_job(
    cupsd: CupsServer, connection: cups.Connection, document: Path
) -> None:
    cupsd.set_error_policy("abort-job")
    cupsd.fail(BACKEND_FAILED, "media-jam-error", "paper jam")
    job = connection.printFile(cupsd.queue, str(document), "form", {})
    attributes = cupsd.wait_job(job, {cups.IPP_JOB_COMPLETED, cups.IPP_JOB_ABORTED}, TIMEOUT)
    assert attributes["job-state"] == cups.IPP_JOB_ABORTED
    assert attributes["job-printer-state-message"] == "paper jam"
    assert cupsd.captured() == []
    assert cupsd.printer_state()["printer-state"] != cups.IPP_PRINTER_STOPPED
