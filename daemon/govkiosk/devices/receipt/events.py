"""Receipt printer events on the bus.

Outcomes and states carry no receipt content. A receipt to print may hold a masked
ID number, so a print request is a :class:`~govkiosk.bus.PersonalEvent`: it reaches
only the drivers and the citizen session, never ops, telemetry or storage (§8 d).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ...bus import Event, PersonalEvent
from .escpos import Receipt


class JobOutcome(str, enum.Enum):
    PRINTED = "printed"  #: sent, printed and confirmed by the printer
    REFUSED = "refused"  #: nothing was sent: the printer could not print
    FAILED = "failed"  #: sent, not confirmed: the receipt may be partly printed


@dataclass(frozen=True)
class ReceiptJobFinished(Event):
    device: str
    job_id: str
    outcome: JobOutcome
    reason: str  #: empty when printed; otherwise why, in words fit for ops
    #: Estimated paper used, in mm: 0 when nothing was sent (``escpos.length_mm``).
    length_mm: float = 0.0


@dataclass(frozen=True)
class ReceiptPrinterStateChanged(Event):
    device: str
    state: str  #: a :class:`~govkiosk.devices.receipt.status.PrinterState` value
    detail: str


@dataclass(frozen=True)
class ReceiptPrintRequested(PersonalEvent):
    """Print ``receipt`` on ``device``; the outcome comes as :class:`ReceiptJobFinished`."""

    device: str
    job_id: str
    receipt: Receipt
