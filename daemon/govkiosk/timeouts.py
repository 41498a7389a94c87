"""``wait_for`` that never loses the caller's cancellation.

Up to Python 3.11, :func:`asyncio.wait_for` returns the awaited result when the task
awaiting it is cancelled at the very moment that result arrives — and the cancellation
is lost (CPython issue gh-86296). A supervised driver that polls a fast device then
ignores the supervisor's stop and keeps polling for ever. This version is built on
:func:`asyncio.wait`, which always re-raises the caller's cancellation; the kiosks run
Python 3.8, so the stdlib fix (3.12) does not reach them.

A device's reply is a plain future the driver resolves from its protocol callback. Such
a future is awaited directly: when the time runs out the future is failed (and the
waiter raises :class:`asyncio.TimeoutError`), so the reply costs one wake-up of the
waiting task instead of the three that :func:`asyncio.wait` takes — this is every poll
of every device, all day long. A cancellation of the caller still cancels the future and
is re-raised, also when the reply or the timeout comes at the same moment.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Awaitable, Optional, TypeVar

if TYPE_CHECKING:
    from typing_extensions import TypeGuard

T = TypeVar("T")


class _Expired(Exception):
    """What a plain future is failed with when its wait ran out (never leaves here)."""


async def wait_for(awaitable: Awaitable[T], timeout: Optional[float]) -> T:
    """Like :func:`asyncio.wait_for`: the result, or :class:`asyncio.TimeoutError`."""
    if timeout is not None and _plain_future(awaitable):
        return await _reply(awaitable, timeout)
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


def _plain_future(awaitable: Awaitable[T]) -> TypeGuard[asyncio.Future[T]]:
    return isinstance(awaitable, asyncio.Future) and not isinstance(awaitable, asyncio.Task)


async def _reply(future: asyncio.Future[T], timeout: float) -> T:
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
