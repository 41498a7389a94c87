"""The daemon's side of an update: the supervised ``updates`` service.

It takes an offer (:meth:`UpdateAgent.offer`, from ops' ``update.offer`` through
``cn.govkiosk.Updates1``), verifies the signature and the version rules, downloads the
packages, waits until the kiosk may be disturbed (no citizen served, nothing in progress,
outside ``[updates] service_hours`` unless forced), then asks the privileged installer to
act by writing ``<spool>/request.json`` — systemd's ``govkiosk-update.path`` sees it and
starts the root oneshot ``govkiosk-update.service``. The daemon never runs anything as
root and never installs anything itself. It then follows the installer's
``status.json`` and reports each phase as :class:`~.phases.UpdatePhaseChanged`, also after
the installer restarted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Set

from ..bus import EventBus
from ..supervisor import Service
from ..timeouts import wait_for
from . import phases
from .download import fetch_release
from .errors import UpdateError
from .manifest import Release, applies, load, verify
from .phases import Phase, Progress, UpdatePhaseChanged
from .settings import WINDOW, UpdateSettings

_LOGGER = logging.getLogger(__name__)

#: Seconds between two looks at the installer's status while it works.
POLL = 1.0
#: How long the installer may take to install, on top of ``health_timeout``, before the
#: daemon reports the update failed.
INSTALL_GRACE = 900.0
MIB = 1024 * 1024
REQUEST = "request.json"
STATE = "state.json"
STATUS = "status.json"


def _clear(spool: Path) -> None:
    for name in ("incoming", "releases"):
        shutil.rmtree(spool / name, ignore_errors=True)


def in_hours(windows: Any, moment: datetime.datetime) -> bool:
    """Whether ``moment`` (local time) falls in one of the ``"HH:MM-HH:MM"`` windows."""
    minute = moment.hour * 60 + moment.minute
    for window in windows:
        if not WINDOW.fullmatch(window):
            continue
        start_text, end_text = window.split("-")
        start = int(start_text[:2]) * 60 + int(start_text[3:])
        end = int(end_text[:2]) * 60 + int(end_text[3:])
        inside = start <= minute < end if start <= end else (minute >= start or minute < end)
        if inside:
            return True
    return False


class UpdateAgent(Service):
    name = "updates"

    def __init__(
        self,
        settings: Callable[[], UpdateSettings],
        bus: EventBus,
        state_dir: Path,
        installed: str,
        busy: Callable[[], bool],
        *,
        clock: Callable[[], float] = time.time,
        local_now: Callable[[], datetime.datetime] = datetime.datetime.now,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._state_dir = state_dir
        self.installed = installed
        self._busy = busy
        self._clock = clock
        self._local_now = local_now
        self.progress: Optional[Progress] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        self._wake: Optional[asyncio.Event] = None  # made on the loop, at start

    @property
    def spool(self) -> Path:
        configured = self._settings().spool
        return Path(configured) if configured else self._state_dir / "updates"

    @property
    def status_path(self) -> Path:
        return Path(self._settings().installer_dir) / STATUS

    async def start(self) -> None:
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.progress = await loop.run_in_executor(None, phases.read, self.spool / STATE)
        if self.progress is not None and not self.progress.phase.final:
            _LOGGER.info(
                "updates: resuming the update to %s at %s",
                self.progress.version,
                self.progress.phase.value,
            )
            installer = await loop.run_in_executor(None, phases.read, self.status_path)
            asked = await loop.run_in_executor(None, (self.spool / REQUEST).exists)
            self._spawn_resume(self.progress, installer, asked)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def state(self) -> Dict[str, Any]:
        """The update in progress or the last one, for ``GetState`` and ``status``."""
        progress = self.progress
        return {
            "installed": self.installed,
            "update": progress.as_dict() if progress is not None else None,
        }

    def wake(self) -> None:
        """Look again now whether the kiosk may install (a session ended)."""
        if self._wake is not None:
            self._wake.set()

    async def offer(self, document: str, force: bool, offer_id: str) -> Dict[str, Any]:
        """Verify a signed release and start it; raise :class:`UpdateError` if refused."""
        settings = self._settings()
        if not settings.enabled:
            raise UpdateError("updates are off: no [updates] release_keys pinned")
        signed = load(document)
        release = verify(signed, settings.pins())  # the signature before anything else
        current = self.progress
        if current is not None and not current.phase.final:
            if current.version == release.version and current.offer_id == offer_id:
                return self.state()
            raise UpdateError(
                f"an update to {current.version} is in progress ({current.phase.value})"
            )
        applies(release, self.installed, self._clock(), max_bytes=settings.max_mb * MIB)
        progress = Progress(
            release.version, Phase.OFFERED, offer_id, self.installed, force=force, at=self._clock()
        )
        self.progress = progress
        await self._report(progress, Phase.OFFERED)
        await self._report(progress, Phase.VERIFIED)
        body = json.dumps(dict(signed), ensure_ascii=False).encode("utf-8")
        self._spawn(self._run(progress, release, body))
        return self.state()

    async def _report(self, progress: Progress, phase: Phase, detail: str = "") -> None:
        progress.phase = phase
        progress.detail = detail
        progress.at = self._clock()
        if phase.value not in progress.reported:
            progress.reported.append(phase.value)
            log = _LOGGER.warning if phase in (Phase.FAILED, Phase.ROLLED_BACK) else _LOGGER.info
            log("updates: %s: %s%s", progress.version, phase.value, f": {detail}" if detail else "")
            self._bus.publish(
                UpdatePhaseChanged(
                    progress.version, phase.value, detail, progress.offer_id, progress.previous
                )
            )
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, phases.write, self.spool / STATE, progress.as_dict())
        if phase.final:  # the installer keeps its own copy of what it installed
            await loop.run_in_executor(None, _clear, self.spool)

    async def _run(self, progress: Progress, release: Release, signed: bytes) -> None:
        settings = self._settings()
        spool = self.spool
        try:
            await fetch_release(
                release,
                signed,
                spool / "incoming" / release.version,
                spool / "releases" / release.version,
                settings,
            )
            await self._report(progress, Phase.DOWNLOADED)
            await self._wait_until_allowed(progress)
            await self._request(progress)
        except UpdateError as err:
            await self._report(progress, Phase.FAILED, str(err))
            return
        except (OSError, ValueError) as err:  # a spool that cannot be written, …
            _LOGGER.exception("updates: %s failed unexpectedly", progress.version)
            await self._report(progress, Phase.FAILED, f"internal error: {type(err).__name__}")
            return
        await self._follow(progress)

    def _blocked(self, force: bool) -> str:
        if self._busy():
            return "the kiosk is serving"
        if not force and in_hours(self._settings().service_hours, self._local_now()):
            return "within service hours"
        return ""

    async def _wait_until_allowed(self, progress: Progress) -> None:
        while True:
            why = self._blocked(progress.force)
            if not why:
                return
            if progress.phase is not Phase.WAITING_IDLE or progress.detail != why:
                # Reported to ops once; the reason kept up to date in the state.
                await self._report(progress, Phase.WAITING_IDLE, why)
            wake = self._wake
            assert wake is not None
            wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(wake.wait(), self._settings().recheck)

    async def _request(self, progress: Progress) -> None:
        request = {
            "version": progress.version,
            "offer_id": progress.offer_id,
            "force": progress.force,
            "at": self._clock(),
        }
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, phases.write, self.spool / REQUEST, request, 0o644)
        await self._report(progress, Phase.INSTALLING)

    def _spawn_resume(self, progress: Progress, installer: Optional[Progress], asked: bool) -> None:
        requested = progress.phase in (Phase.INSTALLING, Phase.RESTARTED)
        if not requested and (
            asked or (installer is not None and installer.offer_id == progress.offer_id)
        ):
            requested = True  # asked just before the restart, not yet noted
        if requested:
            self._spawn(self._follow(progress))
        else:
            # Interrupted before the installer was asked: the downloaded packages may be
            # gone with a crash mid-write; ops offers again.
            self._spawn(self._report(progress, Phase.FAILED, "interrupted by a restart"))

    async def _follow(self, progress: Progress) -> None:
        """Report what the installer says until it reaches a final phase."""
        settings = self._settings()
        deadline = progress.at + settings.health_timeout + INSTALL_GRACE
        loop = asyncio.get_running_loop()
        while True:
            status = await loop.run_in_executor(None, phases.read, self.status_path)
            if (
                status is not None
                and status.version == progress.version
                and (status.offer_id == progress.offer_id)
            ):
                if status.phase is Phase.HEALTHY and self.installed != progress.version:
                    # Healthy but this daemon is the old one: the new one reports.
                    pass
                elif status.phase.value not in progress.reported or status.phase.final:
                    if status.phase is Phase.RESTARTED:
                        await self._report(progress, Phase.RESTARTED, status.detail)
                    elif status.phase.final:
                        await self._report(progress, status.phase, status.detail)
                        return
            if self._clock() > deadline:
                await self._report(progress, Phase.FAILED, "the installer did not report in time")
                return
            await asyncio.sleep(POLL)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
