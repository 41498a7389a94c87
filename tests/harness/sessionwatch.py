"""Following the daemon's session from a test: ``GetSession``, woken by ``SessionChanged``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Dict

#: How long a session may take to reach the state a test waits for.
WAIT = 20.0


class SessionWatch:
    """For a harness class with ``session`` (the Session1 proxy interface) and ``changes``
    (a queue its ``SessionChanged`` handler fills)."""

    session: Any
    changes: asyncio.Queue[Dict[str, Any]]
    #: Seconds :meth:`until` waits.
    wait = WAIT

    async def state(self) -> Dict[str, Any]:
        return {k: v.value for k, v in (await self.session.call_get_session()).items()}

    async def until(self, **expected: Any) -> Dict[str, Any]:
        """Wait until the session's state has all of ``expected``; the state."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        state: Dict[str, Any] = {}
        while loop.time() < deadline:
            state = await self.state()
            if all(state.get(k) == v for k, v in expected.items()):
                return state
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changes.get(), 0.05)
        raise AssertionError(f"session never reached {expected}; last state {state}")
