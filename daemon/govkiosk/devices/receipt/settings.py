"""``[receipt]``: how receipt printers are driven (§6.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...fields import seconds, setting


@dataclass(frozen=True)
class ReceiptSettings:
    """Timeouts, paper and encoding for every receipt printer."""

    #: Each ``DLE EOT`` request must be answered within this time.
    status_timeout: float = seconds(1.0)
    #: A job must be confirmed (``GS r 1`` answered) within this time after it was sent.
    job_timeout: float = seconds(30.0)
    #: While a job prints, the status is polled this often to catch paper out or an open cover.
    poll_interval: float = seconds(0.5)
    #: When idle, the status is polled this often so health stays current.
    idle_poll_interval: float = seconds(5.0)
    #: After paper ran out or the cover opened mid-slip, tell the printer to drop the rest of
    #: the slip (``DLE DC4 fn=8``), so it does not finish by itself once the fault is cleared and
    #: the citizen's retry gives one whole slip. Turn off for printers that print the command.
    clear_buffers_on_fault: bool = True
    #: Opening the port (serial, USB node, TCP) must succeed within this time.
    connect_timeout: float = seconds(5.0)
    #: Characters per line at normal size: 48 on 80 mm paper, 32 on 58 mm.
    paper_width_chars: int = setting(
        48, expect="a whole number between 16 and 96", check=lambda v: 16 <= v <= 96
    )
    #: Chinese-mode encoding: ``gb18030``, or ``gbk`` for printers without 4-byte GB18030.
    codepage: Literal["gb18030", "gbk"] = "gb18030"
    #: The serial speed, in baud, of a receipt printer on a serial line (/dev/ttyS…, /dev/ttyUSB…);
    #: it must match the printer's own setting (its self-test page prints it). Ignored for socket://
    #: printers.
    baudrate: int = setting(
        115200,
        expect="a serial speed: 9600, 19200, 38400, 57600 or 115200",
        check=lambda v: v in (9600, 19200, 38400, 57600, 115200),
    )
    #: Jobs waiting beyond this many are refused rather than queued.
    max_queued_jobs: int = setting(
        8, expect="a whole number between 1 and 100", check=lambda v: 1 <= v <= 100
    )
