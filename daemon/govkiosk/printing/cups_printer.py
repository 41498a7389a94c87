"""A4 documents through CUPS (pycups), tracked to completion, never printed twice.

pycups blocks, so every call runs on one worker thread of our own: calls stay in
order and a hung scheduler cannot take the loop's default executor with it. Each
batch of calls opens its own connection, so a restarted cupsd costs nothing.

The PDF goes to CUPS without touching the disk: ``createJob`` → ``startDocument`` →
``writeRequestData`` → ``finishDocument`` stream it from memory (``printFile`` would
need a path). CUPS keeps a job's document in its spool after completion
(``PreserveJobFiles``), so once the job is done it is purged (``Cancel-Job`` with
``purge-job``): nothing of the citizen stays behind (§8 d). A job the citizen gives up
on is cancelled and purged too, so it does not print for the next person.

Retries never print twice. An :class:`A4Job` remembers its CUPS job id across attempts:
a job that completed is not sent again; one still queued (the printer stopped for
paper, or the job held) is resumed and waited for; only a job that CUPS aborted or
cancelled — nothing printed — is submitted anew.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, TypeVar

import cups

from ..bus import Alarm, EventBus, Severity
from ..timeouts import wait_for
from .a4 import A4Job, Progress
from .errors import PrinterProblemError, PrinterUnavailableError, PrintJobEndedError
from .reasons import problem_code

_LOGGER = logging.getLogger(__name__)

SOURCE = "printer"
T = TypeVar("T")
JOB_ATTRIBUTES = ["job-state", "job-state-reasons", "job-printer-state-message"]
PRINTER_ATTRIBUTES = ["printer-state", "printer-state-reasons", "printer-state-message"]


class _JobUnknownError(Exception):
    """The scheduler does not know the job (a restart that lost its spool)."""


@dataclass(frozen=True)
class JobView:
    state: int
    message: str


@dataclass(frozen=True)
class PrinterView:
    state: int
    reasons: List[str]
    message: str


class CupsPrinter:
    """One CUPS queue. ``server`` is a host, ``host:port`` or socket path; empty: CUPS's default."""

    def __init__(
        self,
        bus: EventBus,
        queue: str,
        server: str = "",
        *,
        poll_interval: float = 0.2,
        call_timeout: float = 10.0,
    ) -> None:
        self._bus = bus
        self.queue = queue
        self._server = server
        self._poll_interval = poll_interval
        self._call_timeout = call_timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="cups")
        self._alarmed: Optional[str] = None

    def close(self) -> None:
        self._executor.shutdown(wait=False)

    # Blocking side (worker thread) ---------------------------------------------------
    def _connect(self) -> Any:
        return cups.Connection(host=self._server) if self._server else cups.Connection()

    def _submit_blocking(self, title: str, document: bytearray) -> int:
        connection = self._connect()
        job_id = int(connection.createJob(self.queue, title, {}))
        try:
            connection.startDocument(self.queue, job_id, title, "application/pdf", 1)
            connection.writeRequestData(bytes(document), len(document))
            status = connection.finishDocument(self.queue)
        except BaseException:
            connection.cancelJob(job_id, True)
            raise
        if status != cups.IPP_OK:
            connection.cancelJob(job_id, True)
            raise PrinterUnavailableError(
                "printer.unavailable", f"{self.queue}: document refused (IPP {status:#x})"
            )
        return job_id

    def _job_blocking(self, job_id: int) -> JobView:
        try:
            attributes = self._connect().getJobAttributes(
                job_id, requested_attributes=JOB_ATTRIBUTES
            )
        except cups.IPPError as err:
            if err.args and err.args[0] == cups.IPP_NOT_FOUND:
                raise _JobUnknownError(job_id) from err
            raise
        return JobView(
            int(attributes["job-state"]), str(attributes.get("job-printer-state-message", ""))
        )

    def _printer_blocking(self) -> PrinterView:
        attributes = self._connect().getPrinterAttributes(
            self.queue, requested_attributes=PRINTER_ATTRIBUTES
        )
        reasons = attributes.get("printer-state-reasons", [])
        return PrinterView(
            int(attributes["printer-state"]),
            [reasons] if isinstance(reasons, str) else list(reasons),
            str(attributes.get("printer-state-message", "")),
        )

    def _resume_blocking(self, job_id: int, job_state: int) -> None:
        connection = self._connect()
        if job_state == cups.IPP_JOB_HELD:
            connection.setJobHoldUntil(job_id, "no-hold")
        attributes = connection.getPrinterAttributes(
            self.queue, requested_attributes=["printer-state"]
        )
        if attributes["printer-state"] == cups.IPP_PRINTER_STOPPED:
            connection.enablePrinter(self.queue)

    def _purge_blocking(self, job_id: int) -> None:
        self._connect().cancelJob(job_id, True)

    def _unfinished_blocking(self) -> List[int]:
        # Only the id and the queue: a job's title is private to its owner in CUPS's
        # default policy, and what a job holds is none of this code's business.
        jobs = self._connect().getJobs(
            which_jobs="not-completed", requested_attributes=["job-id", "job-printer-uri"]
        )
        return sorted(
            int(job_id)
            for job_id, attributes in jobs.items()
            if str(attributes.get("job-printer-uri", "")).endswith(f"/{self.queue}")
        )

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await wait_for(
                loop.run_in_executor(self._executor, fn, *args), self._call_timeout
            )
        except asyncio.TimeoutError:
            raise PrinterUnavailableError(
                "printer.unavailable", f"{self.queue}: CUPS did not answer in time"
            ) from None
        except cups.IPPError as err:
            status, message = err.args if len(err.args) == 2 else (0, str(err))
            code = (
                "printer.not_accepting"
                if status == cups.IPP_NOT_ACCEPTING
                else "printer.unavailable"
            )
            raise PrinterUnavailableError(code, f"{self.queue}: {message}") from err
        except (RuntimeError, OSError) as err:  # pycups: "failed to connect to server"
            raise PrinterUnavailableError("printer.unavailable", f"{self.queue}: {err}") from err

    # Async side -------------------------------------------------------------------
    async def print(self, job: A4Job, progress: Progress, timeout: float) -> None:
        """Print ``job`` (or finish printing it); returns once CUPS reports it completed.

        Raises :class:`PrinterProblemError` with the job still queued, or
        :class:`PrintJobEndedError` when CUPS gave up on it.
        """
        if job.printed:
            return
        if job.cups_id is not None:
            try:
                view = await self._call(self._job_blocking, job.cups_id)
            except _JobUnknownError:  # a restarted scheduler lost it, unprinted: anew
                _LOGGER.warning("%s: job %d unknown, submitting anew", self.queue, job.cups_id)
                job.cups_id = None
            else:
                if view.state == cups.IPP_JOB_COMPLETED:
                    await self._completed(job)
                    return
                if view.state in (cups.IPP_JOB_ABORTED, cups.IPP_JOB_CANCELED):
                    await self.discard(job)
                else:
                    _LOGGER.info("%s: resuming job %d", self.queue, job.cups_id)
                    await self._call(self._resume_blocking, job.cups_id, view.state)
        if job.cups_id is None:
            job.cups_id = await self._call(self._submit_blocking, job.title, job.document)
            if job.recorded is not None:
                await job.recorded(job.cups_id)  # on disk before anything else happens
            _LOGGER.info("%s: job %d submitted (%s)", self.queue, job.cups_id, job.title)
        progress(0.1)
        await self._track(job, progress, timeout)

    async def accept(self, job: A4Job) -> int:
        """Submit only (the benchmark's "job accepted"); the job must be awaited or dropped."""
        job.cups_id = await self._call(self._submit_blocking, job.title, job.document)
        return job.cups_id

    async def _track(self, job: A4Job, progress: Progress, timeout: float) -> None:
        assert job.cups_id is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        away = False
        while True:
            try:
                view = await self._call(self._job_blocking, job.cups_id)
                printer = await self._call(self._printer_blocking)
            except PrinterUnavailableError as err:
                # The scheduler restarting (an update, ``systemctl restart cups``): the
                # job is in its spool and goes on when it is back, so keep the job and
                # keep asking until the step's limit; only then is the citizen told.
                if loop.time() >= deadline:
                    raise
                if not away:
                    _LOGGER.warning("%s: job %d: scheduler away (%s)", self.queue, job.cups_id, err)
                away = True
                await asyncio.sleep(self._poll_interval)
                continue
            except _JobUnknownError:
                # The restarted scheduler has no such job: nothing of it printed (CUPS
                # keeps the history of the jobs it completed); a retry submits it anew.
                job.cups_id = None
                self._alarm("printer.job_lost", "the scheduler lost the job")
                raise PrintJobEndedError(
                    "printer.job_lost", f"{self.queue}: the scheduler no longer knows the job"
                ) from None
            if away:
                _LOGGER.info("%s: job %d: scheduler back", self.queue, job.cups_id)
                away = False
            if view.state == cups.IPP_JOB_COMPLETED:
                await self._completed(job)
                progress(1.0)
                return
            if view.state in (cups.IPP_JOB_ABORTED, cups.IPP_JOB_CANCELED):
                await self.discard(job)  # nothing printed: a retry submits it anew
                code = problem_code(printer.reasons) or (
                    "printer.aborted" if view.state == cups.IPP_JOB_ABORTED else "printer.cancelled"
                )
                self._alarm(code, view.message or printer.message or "job ended unprinted")
                raise PrintJobEndedError(code, f"{self.queue}: {code} ({view.message})")
            if printer.state == cups.IPP_PRINTER_STOPPED:
                code = problem_code(printer.reasons) or "printer.stopped"
                self._alarm(code, printer.message or "queue stopped")
                raise PrinterProblemError(code, f"{self.queue}: {code} ({printer.message})")
            if view.state == cups.IPP_JOB_PROCESSING:
                progress(0.5)
            if loop.time() >= deadline:
                raise PrinterProblemError(
                    "printer.timeout", f"{self.queue}: job not printed within {timeout:g} s"
                )
            await asyncio.sleep(self._poll_interval)

    async def _completed(self, job: A4Job) -> None:
        job.printed = True
        _LOGGER.info("%s: job %s printed", self.queue, job.cups_id)
        await self.discard(job)
        if self._alarmed is not None:
            self._alarmed = None
            self._bus.publish(
                Alarm(SOURCE, "printer.recovered", Severity.INFO, f"{self.queue}: printing again")
            )

    async def discard(self, job: A4Job) -> None:
        """Cancel (if unprinted) and purge the job: its document leaves CUPS's spool."""
        job_id, job.cups_id = job.cups_id, None
        if job_id is None:
            return
        try:
            await self._call(self._purge_blocking, job_id)
        except PrinterUnavailableError as err:
            _LOGGER.warning("%s: job %d not purged: %s", self.queue, job_id, err)

    async def unfinished(self) -> List[int]:
        """This queue's jobs that have not completed: pending, held, stopped or printing."""
        return await self._call(self._unfinished_blocking)

    async def settle(self, job_id: int) -> str:
        """A job a previous run of the daemon left behind (``session.interrupted``):
        cancelled if unprinted, purged in any case; what had become of it, in words."""
        try:
            view = await self._call(self._job_blocking, job_id)
        except _JobUnknownError:  # CUPS lost it with the power: nothing left to print
            return f"A4 job {job_id}: CUPS lost it when it stopped; it will not print"
        except PrinterUnavailableError as err:
            return f"A4 job {job_id}: CUPS cannot say what became of it ({err}); check the tray"
        await self._call(self._purge_blocking, job_id)
        if view.state == cups.IPP_JOB_COMPLETED:
            return f"A4 job {job_id} had been printed (its file is purged)"
        if view.state in (cups.IPP_JOB_ABORTED, cups.IPP_JOB_CANCELED):
            return f"A4 job {job_id} had ended unprinted (purged)"
        if view.state == cups.IPP_JOB_PROCESSING:
            return (
                f"A4 job {job_id} was printing: cancelled and purged (a partly printed"
                " document may be in the tray)"
            )
        return f"A4 job {job_id} had not printed: cancelled and purged, it will not print"

    def _alarm(self, code: str, message: str) -> None:
        self._alarmed = code
        _LOGGER.warning("%s: %s: %s", self.queue, code, message)
        self._bus.publish(Alarm(SOURCE, code, Severity.WARNING, f"{self.queue}: {message}"))
