"""Waiting for events on the in-process bus, with a bound."""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from govkiosk.bus import Event, EventStream

E = TypeVar("E", bound=Event)


async def next_matching(stream: EventStream[E], match: Callable[[E], bool], timeout: float) -> E:
    """The first event on ``stream`` that ``match`` accepts; fail after ``timeout`` seconds."""

    async def scan() -> E:
        while True:
            event = await stream.get()
            if match(event):
                return event

    return await asyncio.wait_for(scan(), timeout)
