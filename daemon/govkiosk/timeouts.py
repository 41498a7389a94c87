"""``wait_for`` that never loses the caller's cancellation, and ``reply`` for a device's answer.

Up to Python 3.11, :func:`asyncio.wait_for` returns the awaited result when the task
awaiting it is cancelled at the very moment that result arrives — and the cancellation
is lost (CPython issue gh-86296). A supervised driver that polls a fast device then
ignores the supervisor's stop and keeps polling for ever. This version is built on
:func:`asyncio.wait`, which always re-raises the caller's cancellation; the kiosks run
Python 3.8, so the stdlib fix (3.12) does not reach them.

:func:`reply` is for the one kind of future polled all day long: a device's answer, a
future the driver made with ``loop.create_future()`` and resolves itself from its
protocol callback (and only while it still waits: ``if not future.done()``). It is
awaited directly, and failed when the time runs out, so an exchange costs one wake-up of
the waiting task instead of the three :func:`asyncio.wait` takes. A cancellation of the
caller still cancels the future and is re-raised, also when the answer or the timeout
comes at the same moment. Never give it a future chained to another (``run_in_executor``,
``wrap_future``): the other side would later find it done and fail.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Optional, TypeVar

T = TypeVar("T")


class _Expired(Exception):
    """What :func:`reply` fails its future with when the time ran out (never leaves here)."""


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


async def reply(future: asyncio.Future[T], timeout: float) -> T:
    """A device's answer ``future``, or :class:`asyncio.TimeoutError` after ``timeout``."""

    def expire() -> None:
        if not future.done():
            future.set_exception(_Expired())

    timer = asyncio.get_running_loop().call_later(timeout, expire)
    try:
        return await future
    except _Expired:
        raise asyncio.TimeoutError from None
    finally:
        timer.cancel()
        if future.done() and not future.cancelled():
            future.exception()  # seen, also when the caller was cancelled as it ran out
