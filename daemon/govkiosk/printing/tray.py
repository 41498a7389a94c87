"""The demo's A4 "printer": each document becomes a PDF file in a directory.

For ``make run`` and development only, where no CUPS queue exists: the directory
stands in for the printer's output tray, so a person can open what the kiosk would
have printed. It writes the citizen's document to disk, which a kiosk must never do
(§8 d): the configuration offers it under ``[session] demo_output_dir``, and a kiosk
leaves that empty and prints through CUPS.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from pathlib import Path

from ..timeouts import wait_for
from .a4 import A4Job, Progress
from .errors import PrinterUnavailableError

_LOGGER = logging.getLogger(__name__)


class OutputTray:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count(1)

    async def print(self, job: A4Job, progress: Progress, timeout: float) -> None:
        if job.printed:
            return
        path = (
            self.directory
            / f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._numbers)}-{job.title}.pdf"
        )
        data = bytes(job.document)
        loop = asyncio.get_running_loop()
        try:
            await wait_for(loop.run_in_executor(None, self._write, path, data), timeout)
        except OSError as err:
            raise PrinterUnavailableError("printer.unavailable", f"demo tray: {err}") from err
        job.printed = True
        progress(1.0)
        _LOGGER.info("demo tray: printed to %s", path)

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    async def discard(self, job: A4Job) -> None:
        """Nothing is kept besides the "printed" page itself."""

    def close(self) -> None:
        """Nothing to release."""
