"""What the session asks of an A4 printer, whichever prints: CUPS, or the demo's tray."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, Protocol

from ..bus import Event

#: Told how far a job has come, 0..1.
Progress = Callable[[float], None]


@dataclass
class A4Job:
    """One document across attempts. ``title`` must say nothing about the holder."""

    title: str
    document: bytearray
    cups_id: Optional[int] = None
    printed: bool = False
    #: Awaited with the job's CUPS id as soon as CUPS accepted it, before the printer reports
    #: any progress: the session records it durably there, so a crash a moment later still
    #: knows which job to settle (``session.interrupted``).
    recorded: Optional[Callable[[int], Awaitable[None]]] = None


@dataclass(frozen=True)
class A4Printed(Event):
    """A document came out of the A4 printer: ``sheets`` left the tray (nothing else)."""

    sheets: int


class A4Printer(Protocol):
    async def print(self, job: A4Job, progress: Progress, timeout: float) -> None:
        """Print ``job`` or finish printing it; a job already printed is not printed again."""

    async def discard(self, job: A4Job) -> None:
        """Forget ``job``: cancel it if unprinted and remove what the printer kept of it."""

    def close(self) -> None: ...
