"""``timeouts.wait_for`` and ``timeouts.reply``: results, timeouts, and a cancellation that is
never lost."""

from __future__ import annotations

import asyncio
import threading
from typing import List

import pytest

from govkiosk.timeouts import reply, wait_for


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


async def test_a_reply_future_wakes_its_waiter_in_the_very_next_step() -> None:
    # A device's reply: the waiting task resumes in the loop step after the protocol
    # callback resolves the future, not two hand-overs later (every poll, all day long).
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(reply(future, 5))
    await asyncio.sleep(0)
    future.set_result("reply")
    await asyncio.sleep(0)
    assert waiter.done()
    assert waiter.result() == "reply"


async def test_a_reply_that_never_comes_times_out_and_the_future_is_settled() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    with pytest.raises(asyncio.TimeoutError):
        await reply(future, 0.01)
    assert future.done()  # a late reply finds it done and is dropped by the driver


async def test_cancelling_the_caller_cancels_the_reply_future() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiter = asyncio.ensure_future(reply(future, 5))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert future.cancelled()


async def test_cancellation_wins_over_a_timeout_that_runs_out_at_the_same_moment() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    waiters: List[asyncio.Future[str]] = []
    # Runs in the step in which the wait's timer fails the future, before the waiter resumes.
    future.add_done_callback(lambda _: waiters[0].cancel())
    waiters.append(asyncio.ensure_future(reply(future, 0.01)))
    with pytest.raises(asyncio.CancelledError):
        await waiters[0]
    assert future.done()
    assert not future.cancelled()  # it was the timeout that ended the wait


async def test_a_blocking_call_that_times_out_finishes_later_without_a_complaint() -> None:
    # wait_for of an executor's future: on timeout it is cancelled (not failed), so the
    # executor's late result is dropped quietly instead of tripping asyncio's chaining.
    loop = asyncio.get_running_loop()
    complaints: List[str] = []
    loop.set_exception_handler(lambda _loop, context: complaints.append(context["message"]))
    release = threading.Event()
    done = threading.Event()

    def blocking() -> str:
        release.wait(5)
        done.set()
        return "late"

    try:
        with pytest.raises(asyncio.TimeoutError):
            await wait_for(loop.run_in_executor(None, blocking), 0.01)
        release.set()
        await loop.run_in_executor(None, done.wait, 5)
        for _ in range(3):  # the executor's completion reaches the loop
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert complaints == []
