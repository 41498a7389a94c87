"""``wait_for`` that never loses the caller's cancellation.

Up to Python 3.11, :func:`asyncio.wait_for` returns the awaited result when the task
awaiting it is cancelled at the very moment that result arrives — and the cancellation
is lost (CPython issue gh-86296). A supervised driver that polls a fast device then
ignores the supervisor's stop and keeps polling for ever. This version is built on
:func:`asyncio.wait`, which always re-raises the caller's cancellation; the kiosks run
Python 3.8, so the stdlib fix (3.12) does not reach them.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Optional, TypeVar

T = TypeVar("T")


async def wait_for(awaitable: Awaitable[T], timeout: Optional[float]) -> T:
    """Like :func:`asyncio.wait_for`: the result, or :class:`asyncio.TimeoutError`."""
    future = asyncio.ensure_future(awaitable)
    try:
        done, _pending = await asyncio.wait({future}, timeout=timeout)
    except asyncio.CancelledError:
        future.cancel()
        raise
    if not done:
        future.cancel()
        await asyncio.wait({future})  # let it finish cancelling, as asyncio.wait_for does
        raise asyncio.TimeoutError
    return future.result()
