"""The session's way to the receipt printer: through the bus, as the driver expects.

Printers are known from their :class:`ReceiptPrinterStateChanged` events; a slip is
asked for with the personal :class:`ReceiptPrintRequested` (it holds a masked ID
number) and its outcome arrives as :class:`ReceiptJobFinished`. A kiosk has one
receipt printer (§6.3): the first that can print is used.
"""

from __future__ import annotations

import asyncio
from typing import Dict, Optional

from ..bus import EventBus, EventStream
from ..devices.receipt.escpos import Receipt
from ..devices.receipt.events import (
    ReceiptJobFinished,
    ReceiptPrinterStateChanged,
    ReceiptPrintRequested,
)
from ..devices.receipt.status import PrinterState
from ..timeouts import wait_for
from .errors import PrintError


class ReceiptPrinters:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._states: Dict[str, str] = {}
        self._unsubscribe = bus.subscribe(ReceiptPrinterStateChanged, self._on_state)

    def close(self) -> None:
        self._unsubscribe()

    def _on_state(self, event: ReceiptPrinterStateChanged) -> None:
        self._states[event.device] = event.state

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
