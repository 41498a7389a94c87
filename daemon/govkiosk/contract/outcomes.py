"""Outcomes nobody is left to read: a future whose error was reported another way, or
that no task awaits any more (a caller that was cancelled, a bounded wait that gave up).

Such an error, never read, is logged by asyncio as "Future exception was never
retrieved" when the future is collected: an ERROR line, with a traceback, for a
connection that ended as connections do. :func:`count_as_seen` reads it when it comes.
"""

from __future__ import annotations

import asyncio


def count_as_seen(future: asyncio.Future[None]) -> None:
    """Read ``future``'s error (if it ends with one) as soon as it ends, now or later."""
    future.add_done_callback(_read)


def _read(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
