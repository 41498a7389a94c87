"""``timeouts.wait_for``: results, timeouts, and a cancellation that is never lost."""

from __future__ import annotations

import asyncio

import pytest

from govkiosk.timeouts import wait_for


async def test_result_and_timeout() -> None:
    assert await wait_for(asyncio.sleep(0, "done"), 1) == "done"
    inner = asyncio.ensure_future(asyncio.sleep(10))
    with pytest.raises(asyncio.TimeoutError):
        await wait_for(inner, 0.01)
    assert inner.cancelled()


async def test_cancellation_wins_over_a_result_that_arrives_at_the_same_moment() -> None:
    # The race asyncio.wait_for loses on Python <= 3.11: the awaited future completes
    # and the awaiting task is cancelled in the same loop iteration.
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    waiter = asyncio.ensure_future(wait_for(future, 5))
    await asyncio.sleep(0)  # the waiter is now waiting on the future
    future.set_result("reply")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_cancelling_the_caller_cancels_the_awaited_work() -> None:
    inner = asyncio.ensure_future(asyncio.sleep(10))
    waiter = asyncio.ensure_future(wait_for(inner, 5))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert inner.cancelled()
