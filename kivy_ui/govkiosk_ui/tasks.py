"""Tasks started from button presses and signals: referenced until done, failures logged.

A press handler cannot await; it hands its coroutine here. Each coroutine handles the
errors it expects (a refused call, the daemon away); anything else is a bug, logged
with its traceback instead of vanishing with an unreferenced task.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine, Set

_LOGGER = logging.getLogger(__name__)


class Tasks:
    def __init__(self) -> None:
        self._tasks: Set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))
        return task

    def _done(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("%s failed", what, exc_info=task.exception())

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def idle(self) -> None:
        """Wait until every task started so far has finished (tests, benchmarks)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))


def stop_when_ended(app: Any) -> Callable[[asyncio.Task[None]], None]:
    """The done-callback of an app's daemon client: ``run()`` only returns by raising (a
    bug), so the app stops as failed and the service manager starts it again."""

    def ended(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        _LOGGER.error("daemon client stopped", exc_info=task.exception())
        app.failed = True
        app.stop()

    return ended
