"""The ``face`` service: the worker process started with the daemon, when the kiosk verifies faces.

Once running (its start is immediate: the daemon's READY does not wait for a model) it checks
the machine (:mod:`.checks`: the photo decoder, dlib, the weights) in an executor and, when
nothing is missing, starts the worker and loads the model, so the first citizen does not wait
for it; then it publishes :class:`FaceReadiness`. :meth:`FaceService.verifier` is the
verifier while face verification can work, else ``None`` — items that need it are then
shown as unavailable, and the reason is :attr:`FaceService.problems`. A reload that changes
``[face]`` is picked up at the next start of the service (``daemon.restart`` or the
daemon's restart).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable, List, Optional

from ..bus import Event, EventBus
from ..supervisor import Service
from .checks import problems
from .settings import FaceSettings
from .verifier import FaceVerifier
from .worker import FaceWorker

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceReadiness(Event):
    """Face verification became able to work, or unable (``problems`` says why)."""

    ready: bool
    problems: str


class FaceService(Service):
    name = "face"

    def __init__(self, settings: Callable[[], FaceSettings], bus: EventBus) -> None:
        self._settings = settings
        self._bus = bus
        self.worker = FaceWorker(settings)
        self._verifier = FaceVerifier(settings, self.worker)
        #: Why face verification cannot work here; empty when it can (or is off).
        self.problems: List[str] = ["not started"]

    def verifier(self) -> Optional[FaceVerifier]:
        if self._settings().decoder == "none" or self.problems:
            return None
        return self._verifier

    async def start(self) -> None:
        self.problems = ["the face model is loading"]

    async def serve(self) -> None:
        settings = self._settings()
        if settings.decoder == "none":
            self._found(['face verification is off ([face] decoder = "none")'])
        else:
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(None, problems, settings)
            if not found:
                await self.worker.start()  # a failure fails the service: it is tried again
                _LOGGER.info("face: worker ready (pid %s)", self.worker.pid)
            self._found(found)
        await super().serve()

    def _found(self, found: List[str]) -> None:
        self.problems = found
        if found:
            _LOGGER.warning("face: verification unavailable: %s", "; ".join(found))
        self._bus.publish(FaceReadiness(not found, "; ".join(found)))

    async def stop(self) -> None:
        await self.worker.close()
