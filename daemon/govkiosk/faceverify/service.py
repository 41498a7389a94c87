"""The ``face`` service: the worker process started with the daemon, when the kiosk verifies faces.

At start it checks the machine (:mod:`.checks`: the photo decoder, dlib, the weights) in
an executor; when nothing is missing it starts the worker and loads the model, so the first
citizen does not wait for it. :meth:`FaceService.verifier` is the verifier while face
verification can work, else ``None`` — items that need it are then shown as unavailable,
and the reason is :attr:`FaceService.problems`. A reload that changes ``[face]`` is picked
up at the next start of the service (``daemon.restart`` or the daemon's restart).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, List, Optional

from ..supervisor import Service
from .checks import problems
from .settings import FaceSettings
from .verifier import FaceVerifier
from .worker import FaceWorker

_LOGGER = logging.getLogger(__name__)


class FaceService(Service):
    name = "face"

    def __init__(self, settings: Callable[[], FaceSettings]) -> None:
        self._settings = settings
        self.worker = FaceWorker(settings)
        self._verifier = FaceVerifier(settings, self.worker)
        #: Why face verification cannot work here; empty when it can (or is off).
        self.problems: List[str] = ["not started"]

    def verifier(self) -> Optional[FaceVerifier]:
        if self._settings().decoder == "none" or self.problems:
            return None
        return self._verifier

    async def start(self) -> None:
        settings = self._settings()
        if settings.decoder == "none":
            self.problems = ['face verification is off ([face] decoder = "none")']
            _LOGGER.info("face: %s", self.problems[0])
            return
        loop = asyncio.get_running_loop()
        self.problems = await loop.run_in_executor(None, problems, settings)
        if self.problems:
            _LOGGER.warning("face: verification unavailable: %s", "; ".join(self.problems))
            return
        await self.worker.start()
        _LOGGER.info("face: worker ready (pid %s)", self.worker.pid)

    async def stop(self) -> None:
        await self.worker.close()
