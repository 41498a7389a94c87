"""Protocol wrappers that misbehave on purpose, like a bad cable or a busy USB-serial bridge.

:class:`FaultyProtocol` wraps any :class:`asyncio.Protocol` and hands it the bytes it
receives the way a :class:`Policy` plans: one byte at a time, in random pieces, with
bytes lost, or after a stall. Delivery keeps the order of the bytes; randomness comes
from a seeded :class:`random.Random`, so a failing run repeats exactly.

Unlike ``faulty_proxy`` (a TCP proxy in front of a ``socket://`` simulator), this works
on any link ``open_link`` opens, ptys included: :func:`faulty_opener` makes an
``open_link``-compatible opener that puts the wrapper between the link and the
driver's protocol.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Set, Tuple

from govkiosk.devices.link import open_link

Chunk = Tuple[float, bytes]  # (seconds to wait first, bytes to deliver)


class Policy(ABC):
    """How the bytes of one ``data_received`` call reach the wrapped protocol."""

    @abstractmethod
    def plan(self, data: bytes, rng: random.Random) -> List[Chunk]: ...


@dataclass
class OneByteAtATime(Policy):
    gap: float = 0.0

    def plan(self, data: bytes, rng: random.Random) -> List[Chunk]:
        return [(self.gap, data[i : i + 1]) for i in range(len(data))]


@dataclass
class RandomChunks(Policy):
    """Pieces of 1..``max_size`` bytes, each after up to ``max_gap`` seconds."""

    max_size: int = 64
    max_gap: float = 0.0

    def plan(self, data: bytes, rng: random.Random) -> List[Chunk]:
        chunks: List[Chunk] = []
        start = 0
        while start < len(data):
            size = rng.randint(1, self.max_size)
            chunks.append((rng.uniform(0, self.max_gap), data[start : start + size]))
            start += size
        return chunks


@dataclass
class DropBytes(Policy):
    """Lose each byte with ``probability``, until ``budget`` bytes are lost (None: never stop)."""

    probability: float
    budget: Optional[int] = None
    dropped: int = 0

    def plan(self, data: bytes, rng: random.Random) -> List[Chunk]:
        kept = bytearray()
        for byte in data:
            spare = self.budget is None or self.dropped < self.budget
            if spare and rng.random() < self.probability:
                self.dropped += 1
            else:
                kept.append(byte)
        return [(0.0, bytes(kept))] if kept else []


@dataclass
class Stall(Policy):
    """Once ``after`` bytes have passed, hold everything for ``seconds``, then go on."""

    after: int
    seconds: float
    passed: int = 0

    def plan(self, data: bytes, rng: random.Random) -> List[Chunk]:
        before = self.passed
        self.passed += len(data)
        if not before <= self.after < self.passed:
            return [(0.0, data)]
        cut = self.after - before
        return [(0.0, data[:cut]), (self.seconds, data[cut:])]


class FaultyProtocol(asyncio.Protocol):
    """Stands between a transport and ``inner``, delivering per ``policy``."""

    def __init__(self, inner: asyncio.Protocol, policy: Policy, rng: random.Random) -> None:
        self.inner = inner
        self._policy = policy
        self._rng = rng
        self._queue: asyncio.Queue[Chunk] = asyncio.Queue()
        self._tasks: Set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        task = asyncio.ensure_future(self._deliver())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        for chunk in self._policy.plan(data, self._rng):
            self._queue.put_nowait(chunk)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.inner.connection_lost(exc)

    async def _deliver(self) -> None:
        while True:
            delay, data = await self._queue.get()
            await asyncio.sleep(delay)
            if data:
                self.inner.data_received(data)


Opener = Callable[..., Awaitable[Tuple[asyncio.BaseTransport, Any]]]


def faulty_opener(policy: Policy, seed: int = 0) -> Opener:
    """An ``open_link`` whose protocol receives through a :class:`FaultyProtocol`."""

    async def opener(
        port: str, factory: Callable[[], asyncio.Protocol], **kwargs: Any
    ) -> Tuple[asyncio.BaseTransport, Any]:
        rng = random.Random(seed)
        transport, wrapper = await open_link(
            port, lambda: FaultyProtocol(factory(), policy, rng), **kwargs
        )
        return transport, wrapper.inner

    return opener
