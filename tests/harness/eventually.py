"""Waiting, inside a test's event loop, for a condition the daemon brings about."""

from __future__ import annotations

import asyncio
from typing import Callable


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.01)
