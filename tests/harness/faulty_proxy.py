"""A TCP proxy that misbehaves on purpose, between a driver and a simulator.

Put it in front of any ``socket://`` simulator: the driver connects to the proxy, the
proxy to the simulator. :class:`Faults` says what goes wrong, decided by a seeded RNG
so a failing run repeats: bytes delivered one at a time with small delays, bytes
dropped, or the link going silent after some bytes (a stalled printer or cable).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import List, Optional, Set

from govkiosk.devices.simhost import socket_url


@dataclass(frozen=True)
class Faults:
    one_byte_at_a_time: bool = False
    max_delay: float = 0.0  #: seconds before each piece is passed on (random up to this)
    drop_rate: float = 0.0  #: chance that a byte is lost
    stall_after: Optional[int] = None  #: bytes passed on before the link goes silent
    seed: int = 0


class FaultyProxy:
    def __init__(self, target: str, faults: Faults) -> None:
        host, _, port = target[len("socket://") :].rpartition(":")
        self._host, self._port = host, int(port)
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._server: Optional[asyncio.Server] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        self._writers: List[asyncio.StreamWriter] = []
        self.passed = 0
        self.dropped = 0

    async def start(self) -> str:
        """Listen; returns the ``socket://`` URL to give the driver."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return socket_url(self._server)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        faults = self.faults
        while True:
            data = await source.read(4096)
            if not data:
                sink.close()
                return
            pieces = (
                [data[i : i + 1] for i in range(len(data))] if faults.one_byte_at_a_time else [data]
            )
            for piece in pieces:
                kept = bytes(b for b in piece if self._rng.random() >= faults.drop_rate)
                self.dropped += len(piece) - len(kept)
                if faults.stall_after is not None:
                    kept = kept[: max(0, faults.stall_after - self.passed)]
                if faults.max_delay:
                    await asyncio.sleep(self._rng.uniform(0, faults.max_delay))
                self.passed += len(kept)
                if kept:
                    sink.write(kept)
                    await sink.drain()
