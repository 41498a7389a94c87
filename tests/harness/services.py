"""Running one supervised service by hand, as the supervisor would, for a test's span."""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from govkiosk.supervisor import Service


@contextlib.asynccontextmanager
async def running(service: Service) -> AsyncIterator[None]:
    """``start``, ``serve`` in a task, then cancel and ``stop`` however the body ends."""
    await service.start()
    task = asyncio.ensure_future(service.serve())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await service.stop()
