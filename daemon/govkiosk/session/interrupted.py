"""The "session in progress" marker: what a crash or a power cut interrupted.

While a session runs, a small file in the state directory (:data:`MARKER`) holds its
non-personal facts — the item's code, the session id's first 8 characters, when it
started (wall time), the step it is at and the CUPS job id of its A4 document once
CUPS accepted one (§8 d: no name, no number, no document). The session's normal end
removes it. If the daemon starts and finds it, the session was cut off (SIGKILL, a
power cut, an OOM kill): :func:`recover` settles the CUPS job, raises the
``session_interrupted`` alarm naming the item, the step and what became of the job,
and removes the marker. The citizen's data itself was only ever in memory, so it died
with the process.

The policy for a job CUPS had already accepted: the citizen is gone with the session,
so a job still pending, held or printing is cancelled and purged (a document printed
later would lie in the tray for the next person, and its file must not stay in the
spool); a completed job is purged. Either way the alarm says which, so staff can look
at the tray and the citizen can be helped; nothing is ever submitted again, so nothing
prints twice.

The writes go to one worker thread of their own, in order, each written to a
temporary file, synced and renamed over the marker, so a power cut leaves the old
marker or the new one, never half of one. Most writes are not waited for; the one that
names a CUPS job is (:meth:`Marker.settled`, through ``A4Job.recorded``): the printer
does not go on, nor log the submission, until the marker holding the job id is on disk.
That leaves the moment between CUPS accepting a job and its id reaching the disk. The
kiosk's A4 queue is the daemon's alone and it runs one session at a time, so a job the
queue still holds unfinished when the daemon starts can only be the interrupted
session's: a marker without a job id has every such job settled like a recorded one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Protocol

from ..bus import Alarm, EventBus, Severity
from ..errors import GovkioskError

_LOGGER = logging.getLogger(__name__)

MARKER = "session-in-progress.json"
SOURCE = "session"


@dataclass(frozen=True)
class Facts:
    """What the marker holds: nothing about the citizen."""

    session: str  #: the session id's first 8 characters, as the log names it
    item: str
    started: float  #: wall time (for people reading the alarm)
    step: str
    cups_job: Optional[int] = None

    @classmethod
    def parse(cls, text: str) -> Optional[Facts]:
        try:
            data = json.loads(text)
            job = data.get("cups_job")
            return cls(
                str(data["session"])[:8],
                str(data["item"])[:64],
                float(data["started"]),
                str(data["step"])[:64],
                int(job) if job is not None else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


class Marker:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / MARKER
        self._executor: Optional[ThreadPoolExecutor] = None
        self._last: Optional[Facts] = None
        self._pending: Optional[Future[None]] = None

    def write(self, facts: Facts) -> None:
        """Record ``facts`` (skipped when they did not change); returns at once."""
        if facts != self._last:
            self._last = facts
            self._pending = self._worker().submit(self._write_blocking, facts)

    def clear(self) -> None:
        """The session ended normally: no marker (returns at once)."""
        self._last = None
        self._pending = self._worker().submit(self._clear_blocking)

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is None:  # first use, or after close(): a service restart
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="session-marker")
        return self._executor

    async def settled(self) -> None:
        """Return once every write handed over so far is on disk."""
        pending = self._pending
        if pending is not None:
            await asyncio.wrap_future(pending)

    def read(self) -> Optional[Facts]:
        """The marker a previous run left; ``None`` when there is none (blocking)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as err:
            _LOGGER.warning("session marker %s cannot be read: %s", self.path, err)
            return None
        return Facts.parse(text) or Facts("?", "?", 0.0, "?")

    async def close(self) -> None:
        """The daemon stops: the last write lands, then the worker thread ends."""
        await self.settled()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _write_blocking(self, facts: Facts) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as file:
                json.dump(asdict(facts), file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, self.path)
        except OSError as err:  # a full disk: the session goes on without its marker
            _LOGGER.warning("session marker not written: %s", err)

    def _clear_blocking(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class LeftJobs(Protocol):
    """Where an interrupted session's A4 jobs are: the CUPS queue (or the demo's tray)."""

    async def settle(self, job_id: int) -> str:
        """Cancel the job if unprinted and purge it; what had become of it, in words."""

    async def unfinished(self) -> List[int]:
        """The ids of the jobs the queue holds that have not completed."""


async def recover(marker: Marker, jobs: LeftJobs, bus: EventBus) -> Optional[Facts]:
    """At start: if a session was interrupted, settle its A4 jobs, alarm, remove the
    marker; the interrupted session's facts (``None``: there was none)."""
    loop = asyncio.get_running_loop()
    facts = await loop.run_in_executor(None, marker.read)
    if facts is None:
        return None
    if facts.cups_job is not None:
        outcome = await _settled(jobs, facts.cups_job)
    else:
        outcome = await _settled_unrecorded(jobs)
    message = (
        f"a session of {facts.item} ({facts.session}) was interrupted at step {facts.step}"
        f" (the daemon stopped without ending it); {outcome}; its personal data was only in"
        " memory and is gone"
    )
    _LOGGER.warning("%s", message)
    bus.publish(Alarm(SOURCE, "session_interrupted", Severity.WARNING, message))
    marker.clear()
    await marker.settled()
    return facts


async def _settled(jobs: LeftJobs, job_id: int) -> str:
    try:
        return await jobs.settle(job_id)
    except GovkioskError as err:  # the printer being away must not stop the start
        return f"A4 job {job_id} could not be settled ({err}): check the tray"


async def _settled_unrecorded(jobs: LeftJobs) -> str:
    """The jobs CUPS accepted before their ids were on disk (a stop at that very moment)."""
    try:
        found = await jobs.unfinished()
    except GovkioskError as err:
        return f"CUPS could not be asked for unfinished A4 jobs ({err}): check the tray"
    if not found:
        return "no A4 document had been sent to the printer"
    outcomes = [await _settled(jobs, job_id) for job_id in found]
    return "; ".join(outcomes) + " (left on the queue unrecorded: the stop came as CUPS took it)"
