"""The session's way to the receipt printer: through the bus, as the driver expects.

Printers are known from their :class:`ReceiptPrinterStateChanged` events; a slip is
asked for with the personal :class:`ReceiptPrintRequested` (it holds a masked ID
number) and its outcome arrives as :class:`ReceiptJobFinished`. A kiosk has one
receipt printer (§6.3): the first that can print is used.

A printer that stops being able to print (paper out, cover open, offline, an error,
no answers) raises an :class:`~govkiosk.bus.Alarm` ``receipt.<state>`` for staff, once
per condition; ``receipt.recovered`` (info) clears it when the printer can print again
(paper loaded, cover closed). A printer merely disconnected (the daemon stopping, the
device unplugged) is the device registry's to report.
"""

from __future__ import annotations

import asyncio
from typing import Dict, Optional

from ..bus import Alarm, EventBus, EventStream, Severity
from ..devices.receipt.escpos import Receipt
from ..devices.receipt.events import (
    ReceiptJobFinished,
    ReceiptPrinterStateChanged,
    ReceiptPrintRequested,
)
from ..devices.receipt.status import PrinterState
from ..timeouts import wait_for
from .errors import PrintError

SOURCE = "receipt"
#: States that are no fault of the printer's: nothing to alarm about.
_QUIET = frozenset({PrinterState.DISCONNECTED.value})


class ReceiptPrinters:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._states: Dict[str, str] = {}
        self._alarmed: Dict[str, str] = {}  #: device → the condition alarmed
        self._unsubscribe = bus.subscribe(ReceiptPrinterStateChanged, self._on_state)

    def close(self) -> None:
        self._unsubscribe()

    def _on_state(self, event: ReceiptPrinterStateChanged) -> None:
        self._states[event.device] = event.state
        try:
            printable = PrinterState(event.state).printable
        except ValueError:
            printable = False
        if printable:
            if self._alarmed.pop(event.device, None) is not None:
                self._bus.publish(
                    Alarm(SOURCE, "receipt.recovered", Severity.INFO, f"{event.device}: ready")
                )
        elif event.state not in _QUIET and self._alarmed.get(event.device) != event.state:
            self._alarmed[event.device] = event.state
            detail = f" ({event.detail})" if event.detail else ""
            self._bus.publish(
                Alarm(
                    SOURCE,
                    f"receipt.{event.state}",
                    Severity.WARNING,
                    f"{event.device}: {event.state}{detail}",
                )
            )

    def ready(self) -> Optional[str]:
        """The first printer that can print now, if any."""
        for device, state in self._states.items():
            if PrinterState(state).printable:
                return device
        return None

    async def print(self, receipt: Receipt, job_id: str, timeout: float) -> None:
        """Print ``receipt``; raise :class:`PrintError` (``receipt.*``) unless printed."""
        device = self.ready()
        if device is None:
            states = ", ".join(f"{d}: {s}" for d, s in self._states.items()) or "none known"
            raise PrintError("receipt.unavailable", f"no receipt printer can print ({states})")
        with self._bus.stream(ReceiptJobFinished) as finished:
            self._bus.publish(ReceiptPrintRequested(device, job_id, receipt))
            try:
                result = await wait_for(_finished(finished, job_id), timeout)
            except asyncio.TimeoutError:
                raise PrintError(
                    "receipt.timeout", f"{device}: no outcome within {timeout:g} s"
                ) from None
        if result.outcome.value != "printed":
            raise PrintError(f"receipt.{result.outcome.value}", f"{device}: {result.reason}")


async def _finished(stream: EventStream[ReceiptJobFinished], job_id: str) -> ReceiptJobFinished:
    while True:
        event = await stream.get()
        if event.job_id == job_id:
            return event
