"""The receipt printer driver: a job queue whose every job ends with a known outcome.

python-escpos writes bytes and hopes; a kiosk must know whether the citizen got a
receipt (§7.2 b). Each job goes through these steps:

1. Ask ``DLE EOT 1..4``. If the printer cannot print (paper out, cover open,
   offline, error), the job is ``REFUSED`` and nothing is sent.
2. Send ``ESC @`` and the receipt block by block. Each block is one
   ``transport.write``, so no command is split; a cut, once begun, is shielded from
   cancellation so the paper is cut and not left hanging.
3. Send ``GS r 1``, which the printer answers only after printing everything before
   it. While waiting, poll ``DLE EOT`` (answered in real time) to catch paper running
   out or the cover being opened mid-job: the job is ``FAILED`` with that reason.
4. Answered: ``PRINTED``. Not answered within ``job_timeout``: ``FAILED``.
5. Failed because of a fault mid-slip: send ``DLE DC4 fn=8`` so the printer drops the
   rest of the slip instead of finishing it when the fault is cleared — the citizen's
   retry then gives one whole slip, not a half and a whole.

Every job's outcome resolves its future and is published as
:class:`~.events.ReceiptJobFinished`. Receipt contents are never logged.

A printer that stops answering status requests makes :meth:`ReceiptPrinter.serve`
fail, so the supervisor reconnects with backoff; jobs waiting then are refused, not
lost. The printer's state (ready, paper out, cover open, offline, …) is published as
:class:`~.events.ReceiptPrinterStateChanged` whenever it changes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, List, Optional, Set, Tuple

from ...bus import EventBus
from ...supervisor import Service
from ...timeouts import reply, wait_for
from ..link import open_link
from ..spec import DeviceSpec
from .errors import EncodeError, ReceiptError, ReceiptLinkError, ReceiptTimeoutError
from .escpos import INIT, Cut, Receipt, length_mm
from .events import (
    JobOutcome,
    ReceiptJobFinished,
    ReceiptPrinterStateChanged,
    ReceiptPrintRequested,
)
from .lpfile import is_file_port, open_file_link
from .settings import ReceiptSettings
from .status import (
    BARRIER_REQUEST,
    CLEAR_BUFFERS_REQUEST,
    CLEARED_REPLY,
    PrinterState,
    PrinterStatus,
    StatusKind,
    is_barrier_reply,
    is_status_reply,
    status_request,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    job_id: str
    outcome: JobOutcome
    reason: str


@dataclass(frozen=True)
class ReceiptJob:
    id: str
    blocks: Tuple[Tuple[bool, bytes], ...]  #: (is a cut, bytes) per block
    result: asyncio.Future[JobResult]
    length_mm: float = 0.0  #: estimated paper the receipt uses


class _PrinterLink(asyncio.Protocol):
    """The byte stream: requests out, reply bytes routed by their bit pattern."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._transport: Optional[asyncio.WriteTransport] = None
        loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._status: Optional[asyncio.Future[int]] = None
        self._barrier: Optional[asyncio.Future[int]] = None
        self._cleared: Optional[asyncio.Future[None]] = None
        self._cleared_seen = 0  # bytes of CLEARED_REPLY matched so far
        self._writable = asyncio.Event()
        self._writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Optional[Exception]) -> None:
        lost = ReceiptLinkError(f"{self._name}: connection lost" + (f": {exc}" if exc else ""))
        for waiter in (self._status, self._barrier, self._cleared):
            if waiter is not None and not waiter.done():
                waiter.set_exception(lost)
        if not self.closed.done():
            self.closed.set_result(None)
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        for byte in data:
            if self._cleared is not None and byte == CLEARED_REPLY[self._cleared_seen]:
                self._cleared_seen += 1
                if self._cleared_seen == len(CLEARED_REPLY) and not self._cleared.done():
                    self._cleared.set_result(None)
                continue
            if is_status_reply(byte):
                waiter = self._status
            elif is_barrier_reply(byte):
                waiter = self._barrier
            else:
                waiter = None
            if waiter is None or waiter.done():
                _LOGGER.debug("%s: unexpected byte 0x%02x ignored", self._name, byte)
                continue
            waiter.set_result(byte)

    def _write(self, data: bytes) -> None:
        if self._transport is None or self.closed.done():
            raise ReceiptLinkError(f"{self._name}: not connected")
        self._transport.write(data)

    async def send(self, data: bytes, timeout: float) -> None:
        """Write ``data`` in one piece, then wait until the transport takes more."""
        self._write(data)
        try:
            await wait_for(self._writable.wait(), timeout)
        except asyncio.TimeoutError as err:
            raise ReceiptTimeoutError(f"{self._name}: printer not accepting data") from err
        if self.closed.done():
            raise ReceiptLinkError(f"{self._name}: connection lost")

    async def status(self, kind: StatusKind, timeout: float) -> int:
        """One ``DLE EOT n`` round trip; callers ask one at a time."""
        loop = asyncio.get_running_loop()
        self._status = waiter = loop.create_future()
        try:
            self._write(status_request(kind))
            return await reply(waiter, timeout)
        except asyncio.TimeoutError as err:
            raise ReceiptTimeoutError(
                f"{self._name}: no answer to status request {kind.value} within {timeout:g} s"
            ) from err
        finally:
            self._status = None

    def barrier(self) -> asyncio.Future[int]:
        """Send ``GS r 1``; the future resolves when the printer has printed all before it."""
        self._barrier = asyncio.get_running_loop().create_future()
        self._write(BARRIER_REQUEST)
        return self._barrier

    async def clear_buffers(self, timeout: float) -> None:
        """``DLE DC4 fn=8``: the printer drops what it has not printed yet."""
        self._cleared = waiter = asyncio.get_running_loop().create_future()
        self._cleared_seen = 0
        try:
            self._write(CLEAR_BUFFERS_REQUEST)
            await reply(waiter, timeout)
        except asyncio.TimeoutError as err:
            raise ReceiptTimeoutError(
                f"{self._name}: no answer to the clear-buffers request within {timeout:g} s"
            ) from err
        finally:
            self._cleared = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()  # close, not abort: buffered bytes still go out


class ReceiptPrinter(Service):
    """One ESC/POS receipt printer on a serial port, ``/dev/usb/lpN`` or ``socket://``."""

    def __init__(
        self, spec: DeviceSpec, bus: EventBus, settings: Callable[[], ReceiptSettings]
    ) -> None:
        self.name = spec.id
        self._spec = spec
        self._bus = bus
        self._section = settings
        self._settings = settings()
        self._link: Optional[_PrinterLink] = None
        self._queue: Deque[ReceiptJob] = deque()
        self._wakeup = asyncio.Event()
        self._status_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._unsubscribe: Optional[Callable[[], None]] = None
        self.state = PrinterState.DISCONNECTED
        self.detail = ""

    # Submitting -------------------------------------------------------------------
    def submit(self, receipt: Receipt, job_id: str = "") -> ReceiptJob:
        """Queue ``receipt``; ``job.result`` resolves with its outcome, whatever happens."""
        job_id = job_id or f"{self._spec.role}-{next(self._ids)}"
        result: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        try:
            blocks = tuple(
                (isinstance(block, Cut), data)
                for block, data in receipt.encode_blocks(self._settings.codepage)
            )
        except EncodeError as err:
            job = ReceiptJob(job_id, (), result)
            self._finish(job, JobOutcome.REFUSED, str(err), sent=False)
            return job
        job = ReceiptJob(job_id, blocks, result, length_mm(receipt))
        if self._link is None:
            self._finish(job, JobOutcome.REFUSED, "printer not connected", sent=False)
        elif len(self._queue) >= self._settings.max_queued_jobs:
            self._finish(job, JobOutcome.REFUSED, "too many receipts waiting", sent=False)
        else:
            self._queue.append(job)
            self._wakeup.set()
        return job

    async def print(self, receipt: Receipt, job_id: str = "") -> JobResult:
        return await self.submit(receipt, job_id).result

    def _on_request(self, event: ReceiptPrintRequested) -> None:
        if event.device == self._spec.id:
            self.submit(event.receipt, event.job_id)

    # Service ------------------------------------------------------------------------
    async def start(self) -> None:
        self._settings = self._section()
        settings = self._settings
        port = self._spec.port
        if is_file_port(port):
            _transport, link = await open_file_link(port, lambda: _PrinterLink(self.name))
        else:
            _transport, link = await open_link(
                port,
                lambda: _PrinterLink(self.name),
                baudrate=settings.baudrate,
                timeout=settings.connect_timeout,
            )
        try:
            self._apply(await self._read_status(link))
        except ReceiptError:
            link.close()
            self._set_state(PrinterState.NOT_RESPONDING, "no answer to status requests")
            raise
        self._link = link
        self._unsubscribe = self._bus.subscribe(
            ReceiptPrintRequested, self._on_request, personal=True
        )
        _LOGGER.info("%s: connected (%s)", self.name, self.state.value)

    async def serve(self) -> None:
        link = self._link
        assert link is not None
        while True:
            if not self._queue:
                await self._idle(link)
                continue
            await self._run(link, self._queue.popleft())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        link, self._link = self._link, None
        while self._queue:
            self._finish(
                self._queue.popleft(), JobOutcome.REFUSED, "printer disconnected", sent=False
            )
        if link is not None:
            link.close()
        if self.state is not PrinterState.NOT_RESPONDING:
            self._set_state(PrinterState.DISCONNECTED, "")

    async def _idle(self, link: _PrinterLink) -> None:
        """Wait for a job, the link closing, or the next health poll."""
        self._wakeup.clear()
        wakeup = asyncio.ensure_future(self._wakeup.wait())
        waits: Set[asyncio.Future[Any]] = {wakeup, link.closed}
        try:
            await asyncio.wait(
                waits,
                timeout=self._settings.idle_poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            wakeup.cancel()
        if link.closed.done():
            raise ReceiptLinkError(f"{self.name}: connection lost")
        if not self._queue:
            self._apply(await self._polled(link))

    # Jobs ---------------------------------------------------------------------------
    async def _run(self, link: _PrinterLink, job: ReceiptJob) -> None:
        sent = False
        try:
            status = await self._polled(link)
            self._apply(status)
            if status.problem is not None:
                self._finish(job, JobOutcome.REFUSED, status.problem, sent=False)
                return
            sent = True
            await link.send(INIT, self._settings.status_timeout)
            for is_cut, data in job.blocks:
                sending = link.send(data, self._settings.job_timeout)
                await (asyncio.shield(sending) if is_cut else sending)
            barrier = link.barrier()
            try:
                outcome, reason = await self._confirm(link, barrier)
            finally:
                barrier.cancel()  # no-op once answered; otherwise nobody waits for it any more
            if outcome is JobOutcome.FAILED and self._settings.clear_buffers_on_fault:
                await self._drop_rest(link)
            self._finish(job, outcome, reason, sent=True)
        except asyncio.CancelledError:
            self._finish(job, JobOutcome.FAILED, "printer driver stopped", sent=sent)
            raise
        except ReceiptError as err:
            self._finish(job, JobOutcome.FAILED, str(err), sent=sent)
            raise

    async def _confirm(
        self, link: _PrinterLink, barrier: asyncio.Future[int]
    ) -> Tuple[JobOutcome, str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.job_timeout
        while True:
            remaining = deadline - loop.time()
            await asyncio.wait(
                {barrier}, timeout=min(self._settings.poll_interval, max(0.0, remaining))
            )
            if barrier.done():
                barrier.result()  # raises ReceiptLinkError if the link went
                self._apply(await self._polled(link))
                return JobOutcome.PRINTED, ""
            status = await self._polled(link)
            self._apply(status)
            if status.problem is not None:
                return JobOutcome.FAILED, f"{status.problem} while printing"
            if loop.time() >= deadline:
                return (
                    JobOutcome.FAILED,
                    f"printing not confirmed within {self._settings.job_timeout:g} s",
                )

    async def _drop_rest(self, link: _PrinterLink) -> None:
        try:
            await link.clear_buffers(self._settings.status_timeout)
        except ReceiptTimeoutError:
            _LOGGER.warning(
                "%s: the printer did not confirm dropping the unprinted rest of a slip; it may"
                " finish once the fault is cleared (set clear_buffers_on_fault = false if it"
                " does not know DLE DC4 fn=8)",
                self.name,
            )

    def _finish(self, job: ReceiptJob, outcome: JobOutcome, reason: str, *, sent: bool) -> None:
        if job.result.done():
            return
        if outcome is JobOutcome.FAILED and not sent:
            outcome = JobOutcome.REFUSED
        job.result.set_result(JobResult(job.id, outcome, reason))
        if outcome is JobOutcome.PRINTED:
            _LOGGER.info("%s: job %s printed", self.name, job.id)
        else:
            _LOGGER.warning("%s: job %s %s: %s", self.name, job.id, outcome.value, reason)
        # A failed job may be partly printed: count its paper, the roll runs out sooner.
        used = job.length_mm if outcome is not JobOutcome.REFUSED else 0.0
        self._bus.publish(ReceiptJobFinished(self._spec.id, job.id, outcome, reason, used))

    # Status -------------------------------------------------------------------------
    async def _read_status(self, link: _PrinterLink) -> PrinterStatus:
        async with self._status_lock:
            replies: List[int] = []
            for kind in StatusKind:
                replies.append(await link.status(kind, self._settings.status_timeout))
        return PrinterStatus.from_replies(*replies)

    async def _polled(self, link: _PrinterLink) -> PrinterStatus:
        """:meth:`_read_status`, marking the printer not responding if it stays silent."""
        try:
            return await self._read_status(link)
        except ReceiptTimeoutError as err:
            self._set_state(PrinterState.NOT_RESPONDING, str(err))
            raise

    def _apply(self, status: PrinterStatus) -> None:
        state = status.state
        detail = status.problem or ("paper near end" if state is PrinterState.PAPER_LOW else "")
        self._set_state(state, detail)

    def _set_state(self, state: PrinterState, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        log = _LOGGER.info if state.printable else _LOGGER.warning
        log("%s: %s%s", self.name, state.value, f" ({detail})" if detail else "")
        self._bus.publish(ReceiptPrinterStateChanged(self._spec.id, state.value, detail))
