"""``cn.govkiosk.Receipt1``: the receipt printers' state, a test print, job outcomes.

For the maintenance screen and ops' printer test. The interface learns printers
from their state events and asks for prints with a :class:`ReceiptPrintRequested`
event, so it never holds a driver; a kiosk has one receipt printer (§6.3), and
``PrintTest`` uses the first one that can print.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Callable, Dict, Tuple

from dbus_next.service import ServiceInterface, method, signal

from ..bus import AdminAction, EventBus, EventStream
from ..contract.names import RECEIPT_INTERFACE
from ..dbus import guarded
from ..devices.receipt.events import (
    ReceiptJobFinished,
    ReceiptPrinterStateChanged,
    ReceiptPrintRequested,
)
from ..devices.receipt.settings import ReceiptSettings
from ..devices.receipt.status import PrinterState
from ..devices.receipt.testpage import test_receipt
from ..errors import GovkioskError
from ..runtime import Runtime
from ..timeouts import wait_for


class NoReceiptPrinterError(GovkioskError):
    """No receipt printer can print now."""


class ReceiptInterface(ServiceInterface):
    def __init__(
        self,
        bus: EventBus,
        kiosk_id: str,
        settings: Callable[[], ReceiptSettings],
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        super().__init__(RECEIPT_INTERFACE)
        self._bus = bus
        self._kiosk_id = kiosk_id
        self._settings = settings
        self._clock = clock
        self._printers: Dict[str, Tuple[str, str]] = {}
        self._unsubscribers = [
            bus.subscribe(ReceiptPrinterStateChanged, self._on_state),
            bus.subscribe(ReceiptJobFinished, self._on_job),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    def _on_state(self, event: ReceiptPrinterStateChanged) -> None:
        self._printers[event.device] = (event.state, event.detail)
        self.StateChanged(event.device, event.state, event.detail)

    def _on_job(self, event: ReceiptJobFinished) -> None:
        self.JobFinished(event.device, event.job_id, event.outcome.value, event.reason)

    @method()
    @guarded
    def GetPrinters(self) -> "a(sss)":
        return [[device, state, detail] for device, (state, detail) in self._printers.items()]

    @method()
    @guarded
    async def PrintTest(self) -> "(sss)":
        """Print the test receipt; returns (job id, outcome, reason) once it is known."""
        ready = [d for d, (state, _) in self._printers.items() if PrinterState(state).printable]
        if not ready:
            states = ", ".join(f"{d}: {s}" for d, (s, _) in self._printers.items()) or "none found"
            raise NoReceiptPrinterError(f"no receipt printer can print ({states})")
        device = ready[0]
        settings = self._settings()
        job_id = "test-" + uuid.uuid4().hex[:8]
        receipt = test_receipt(self._kiosk_id, device, self._clock(), settings.paper_width_chars)
        # Whatever happens the driver reports an outcome; the limit guards a vanished driver.
        limit = settings.job_timeout + 8 * settings.status_timeout + settings.poll_interval
        with self._bus.stream(ReceiptJobFinished) as finished:
            self._bus.publish(ReceiptPrintRequested(device, job_id, receipt))
            try:
                result = await wait_for(_outcome(finished, job_id), limit)
            except asyncio.TimeoutError:
                raise NoReceiptPrinterError(f"{device}: no outcome within {limit:g} s") from None
        self._bus.publish(
            AdminAction(
                "maintenance",
                "printer_test",
                {"device": device, "outcome": result.outcome.value, "reason": result.reason},
            )
        )
        return [job_id, result.outcome.value, result.reason]

    @signal()
    def StateChanged(self, device: str, state: str, detail: str) -> "sss":
        return [device, state, detail]

    @signal()
    def JobFinished(self, device: str, job_id: str, outcome: str, reason: str) -> "ssss":
        return [device, job_id, outcome, reason]


async def _outcome(finished: EventStream[ReceiptJobFinished], job_id: str) -> ReceiptJobFinished:
    while True:
        event = await finished.get()
        if event.job_id == job_id:
            return event


def install(runtime: Runtime) -> None:
    runtime.dbus.export(
        ReceiptInterface(runtime.bus, runtime.kiosk_id, lambda: runtime.config.receipt)
    )
