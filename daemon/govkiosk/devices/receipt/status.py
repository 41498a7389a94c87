"""What an ESC/POS printer says about itself: ``DLE EOT n`` and the ``GS r 1`` barrier.

``DLE EOT n`` (``10 04 n``) is a *real-time* command: the printer answers it at once,
even while offline or out of paper, with one byte. Bit meanings (Epson ESC/POS
reference, "DLE EOT"; the same on the GB printers seen in kiosks):

=====  ==================================  ==================================
n      bit set                             meaning
=====  ==================================  ==================================
1      3 (0x08)                            offline
1      5 (0x20)                            waiting for online recovery
1      6 (0x40)                            paper feed button pressed
2      2 (0x04)                            cover open
2      3 (0x08)                            paper being fed by the feed button
2      5 (0x20)                            printing stopped: paper end
2      6 (0x40)                            an error occurred
3      2 (0x04)                            recoverable error (model dependent)
3      3 (0x08)                            autocutter error
3      5 (0x20)                            unrecoverable error
3      6 (0x40)                            auto-recoverable error (head temperature, voltage)
4      2, 3 (0x0C)                         roll paper near end
4      5, 6 (0x60)                         roll paper end (out of paper)
=====  ==================================  ==================================

In every reply bit 1 and bit 4 are 1 and bits 0 and 7 are 0 (``byte & 0x93 == 0x12``);
a byte that breaks this pattern is not a status reply.

``GS r 1`` (``1D 72 01``) is the same question asked *in the print buffer*: the printer
answers only once everything sent before it has been processed, so its reply confirms
that a job went through. Its reply has bit 4 = 0 and bit 7 = 0 (``byte & 0x90 == 0``),
which tells it apart from a ``DLE EOT`` reply on the same wire. Bits 2, 3 (0x0C) mean
paper end, bits 0, 1 (0x03) paper near end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from .errors import StatusParseError

REALTIME_MASK, REALTIME_PATTERN = 0x93, 0x12
BARRIER_MASK = 0x90
#: ``GS r 1``: answered after every byte before it has been printed.
BARRIER_REQUEST = bytes([0x1D, 0x72, 0x01])
#: ``DLE DC4 fn=8`` (real time, also while stopped by a fault): the printer drops what it
#: received but has not printed yet, so a slip cut short by a fault does not finish by
#: itself once the fault is cleared. Answered with :data:`CLEARED_REPLY`.
CLEAR_BUFFERS_REQUEST = bytes([0x10, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08])
CLEARED_REPLY = bytes([0x37, 0x25, 0x00])


class StatusKind(enum.IntEnum):
    """The ``n`` of ``DLE EOT n``."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER = 4


def status_request(kind: StatusKind) -> bytes:
    return bytes([0x10, 0x04, kind])


def is_status_reply(byte: int) -> bool:
    return byte & REALTIME_MASK == REALTIME_PATTERN


def is_barrier_reply(byte: int) -> bool:
    return byte & BARRIER_MASK == 0


class PrinterState(str, enum.Enum):
    """The printer as the kiosk sees it; ``ready`` and ``paper_low`` can print."""

    READY = "ready"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    ERROR = "error"
    NOT_RESPONDING = "not_responding"
    DISCONNECTED = "disconnected"

    @property
    def printable(self) -> bool:
        return self in (PrinterState.READY, PrinterState.PAPER_LOW)


def _bit(byte: int, mask: int) -> bool:
    return byte & mask == mask


@dataclass(frozen=True)
class PrinterStatus:
    """The four ``DLE EOT`` replies read as flags."""

    offline: bool = False
    waiting_for_recovery: bool = False
    feed_button_pressed: bool = False
    cover_open: bool = False
    feeding_by_button: bool = False
    stopped_by_paper_end: bool = False
    error: bool = False
    recoverable_error: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    paper_near_end: bool = False
    paper_out: bool = False

    @classmethod
    def from_replies(
        cls, printer: int, offline_cause: int, error_cause: int, paper: int
    ) -> PrinterStatus:
        for kind, byte in zip(StatusKind, (printer, offline_cause, error_cause, paper)):
            if not is_status_reply(byte):
                raise StatusParseError(
                    f"DLE EOT {kind.value} reply 0x{byte:02x}: not a status byte"
                )
        return cls(
            offline=_bit(printer, 0x08),
            waiting_for_recovery=_bit(printer, 0x20),
            feed_button_pressed=_bit(printer, 0x40),
            cover_open=_bit(offline_cause, 0x04),
            feeding_by_button=_bit(offline_cause, 0x08),
            stopped_by_paper_end=_bit(offline_cause, 0x20),
            error=_bit(offline_cause, 0x40),
            recoverable_error=_bit(error_cause, 0x04),
            cutter_error=_bit(error_cause, 0x08),
            unrecoverable_error=_bit(error_cause, 0x20),
            auto_recoverable_error=_bit(error_cause, 0x40),
            # Printers set either bit of a pair; either one counts.
            paper_near_end=bool(paper & 0x0C),
            paper_out=bool(paper & 0x60),
        )

    def to_replies(self) -> bytes:
        """The four reply bytes (the simulator's answers)."""
        printer = 0x12 | 0x08 * self.offline | 0x20 * self.waiting_for_recovery
        printer |= 0x40 * self.feed_button_pressed
        offline = 0x12 | 0x04 * self.cover_open | 0x08 * self.feeding_by_button
        offline |= 0x20 * self.stopped_by_paper_end | 0x40 * self.error
        error = 0x12 | 0x04 * self.recoverable_error | 0x08 * self.cutter_error
        error |= 0x20 * self.unrecoverable_error | 0x40 * self.auto_recoverable_error
        paper = 0x12 | 0x0C * self.paper_near_end | 0x60 * self.paper_out
        return bytes([printer, offline, error, paper])

    @property
    def state(self) -> PrinterState:
        if self.cover_open:
            return PrinterState.COVER_OPEN
        if self.paper_out or self.stopped_by_paper_end:
            return PrinterState.PAPER_OUT
        if (
            self.error
            or self.cutter_error
            or self.unrecoverable_error
            or self.auto_recoverable_error
            or self.recoverable_error
        ):
            return PrinterState.ERROR
        if self.offline or self.waiting_for_recovery:
            return PrinterState.OFFLINE
        return PrinterState.PAPER_LOW if self.paper_near_end else PrinterState.READY

    @property
    def problem(self) -> Optional[str]:
        """Why the printer cannot print now, in words fit for ops; ``None`` if it can."""
        state = self.state
        if state.printable:
            return None
        if state is PrinterState.ERROR:
            causes = [
                name
                for name, flag in (
                    ("cutter error", self.cutter_error),
                    ("unrecoverable error", self.unrecoverable_error),
                    ("head temperature or voltage out of range", self.auto_recoverable_error),
                    ("recoverable error", self.recoverable_error),
                )
                if flag
            ]
            return "printer error: " + (", ".join(causes) or "unspecified")
        return str(state.value).replace("_", " ")


@dataclass(frozen=True)
class BarrierReply:
    """The ``GS r 1`` reply: the printer has processed everything sent before it."""

    paper_near_end: bool
    paper_out: bool

    @classmethod
    def from_byte(cls, byte: int) -> BarrierReply:
        if not is_barrier_reply(byte):
            raise StatusParseError(f"GS r 1 reply 0x{byte:02x}: bit 4 or 7 set")
        return cls(paper_near_end=bool(byte & 0x03), paper_out=bool(byte & 0x0C))

    def to_byte(self) -> int:
        return 0x03 * self.paper_near_end | 0x0C * self.paper_out
