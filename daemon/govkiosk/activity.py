"""The activity gate: what the kiosk is in the middle of and must not cut short.

A print in progress holds the gate (``async with activity.busy("print"): …``); a
staged shutdown (§6.1) stops new citizen sessions first and then waits, for a bounded
time, until the gate is idle before it takes the kiosk out of service. The gate knows
only *kinds* of work, never whose: nothing personal passes through it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable, List, Tuple

from .timeouts import wait_for

Listener = Callable[[], None]


class Activity:
    """Counts work in progress by kind; tells listeners when the last piece ends.

    It creates no asyncio objects until someone waits, so it can be built before the
    event loop runs (the runtime is).
    """

    def __init__(self) -> None:
        self._busy: Counter[str] = Counter()
        self._waiters: List[asyncio.Future[None]] = []
        self._listeners: List[Listener] = []

    @property
    def idle(self) -> bool:
        return not self._busy

    def busy_with(self) -> Tuple[str, ...]:
        """The kinds of work in progress, for logs and status."""
        return tuple(sorted(self._busy))

    @asynccontextmanager
    async def busy(self, what: str) -> AsyncIterator[None]:
        """Hold the gate while the body runs, however it ends."""
        self._busy[what] += 1
        try:
            yield
        finally:
            self._busy[what] -= 1
            if self._busy[what] <= 0:
                del self._busy[what]
            if self.idle:
                self._became_idle()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is in progress; ``False`` if ``timeout`` seconds pass first."""
        if self.idle:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` each time the gate becomes idle; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _became_idle(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        for listener in list(self._listeners):
            listener()
