"""Presence sensor simulators: an LD2410 radar and a token-per-line sensor.

Each streams its reading the way the hardware does (the LD2410 about ten report
frames a second; token sensors a line per reading) and can be scripted: a person
arrives at a distance, leaves, or the reading flickers. The LD2410 simulator also
answers the configuration commands the driver sends at start.

``govkioskctl sim presence --kind ld2410 --script "arrive 80; wait 5; leave"`` serves
one on a pty (or ``--tcp [HOST:]PORT``) and prints the port to give the driver.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
from abc import ABC, abstractmethod
from typing import List, Optional, Set

from ..simhost import add_tcp_option, serve_pty, serve_tcp, socket_url
from . import ld2410

#: What the simulated LD2410 reports as its firmware (V1.07.22091516).
FIRMWARE = bytes.fromhex("0001 0701 16150922")


class PresenceSimulator(asyncio.Protocol, ABC):
    """The device end: keeps a scene (somebody at ``distance_cm`` or nobody) and reports it."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.distance_cm: Optional[int] = None
        self.streaming = True  #: False: the sensor falls silent
        self._transport: Optional[asyncio.Transport] = None
        self._tasks: Set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        task = asyncio.ensure_future(self._stream())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._transport = None
        for task in list(self._tasks):
            task.cancel()

    def arrive(self, distance_cm: int = 80) -> None:
        self.distance_cm = distance_cm
        self.report()

    def leave(self) -> None:
        self.distance_cm = None
        self.report()

    async def flicker(self, times: int, period: float, distance_cm: int = 80) -> None:
        """Toggle between somebody and nobody ``times`` times, ``period`` apart."""
        for _ in range(times):
            if self.distance_cm is None:
                self.arrive(distance_cm)
            else:
                self.leave()
            await asyncio.sleep(period)

    def report(self) -> None:
        if self._transport is not None and self.streaming:
            self._transport.write(self.encode())

    @abstractmethod
    def encode(self) -> bytes:
        """The bytes the sensor sends for the current scene."""

    async def _stream(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.report()


class Ld2410Simulator(PresenceSimulator):
    def __init__(self, interval: float = 0.1, *, engineering: bool = False) -> None:
        super().__init__(interval)
        self.engineering = engineering
        self._decoder = ld2410.Decoder()

    def encode(self) -> bytes:
        distance = self.distance_cm
        gates = None
        if self.engineering:
            near = -1 if distance is None else min(8, distance // 75)
            energies = tuple(60 if gate == near else 5 for gate in range(9))
            gates = ld2410.GateEnergies(energies, energies)
        if distance is None:
            report = ld2410.Report(ld2410.TargetState.NONE, 0, 0, 0, 0, 0, gates)
        else:
            state = ld2410.TargetState.STATIONARY
            report = ld2410.Report(state, 0, 0, distance, 60, distance, gates)
        return ld2410.encode_report(report)

    def data_received(self, data: bytes) -> None:
        for frame in self._decoder.feed(data):
            if isinstance(frame, ld2410.Command) and self._transport is not None:
                self._transport.write(self.answer(frame))

    def answer(self, command: ld2410.Command) -> bytes:
        if command.command == ld2410.CMD_ENABLE_CONFIG:
            return ld2410.encode_ack(command.command, data=struct.pack("<HH", 1, 0x40))
        if command.command == ld2410.CMD_READ_FIRMWARE:
            return ld2410.encode_ack(command.command, data=FIRMWARE)
        if command.command == ld2410.CMD_END_CONFIG:
            return ld2410.encode_ack(command.command)
        return ld2410.encode_ack(command.command, status=1)


class TokenSimulator(PresenceSimulator):
    def __init__(
        self, interval: float = 0.5, *, present: str = "PRESENT", absent: str = "ABSENT"
    ) -> None:
        super().__init__(interval)
        self.tokens = {True: present, False: absent}

    def encode(self) -> bytes:
        return (self.tokens[self.distance_cm is not None] + "\r\n").encode()


async def run_script(simulators: List[PresenceSimulator], script: str) -> None:
    """Steps separated by ``;``: ``arrive [cm]``, ``leave``, ``wait S``, ``flicker N S``."""
    for step in filter(None, (s.split() for s in script.split(";"))):
        verb, args = step[0], [float(a) for a in step[1:]]
        if verb == "wait":
            await asyncio.sleep(args[0])
        elif verb == "flicker":
            await asyncio.gather(*(s.flicker(int(args[0]), args[1]) for s in simulators))
        else:
            for sim in simulators:
                sim.arrive(int(args[0]) if args else 80) if verb == "arrive" else sim.leave()


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkioskctl sim presence")
    parser.add_argument("--kind", choices=("ld2410", "lines"), default="ld2410")
    add_tcp_option(parser)
    parser.add_argument("--engineering", action="store_true", help="LD2410 engineering frames")
    parser.add_argument(
        "--script", default="", help='e.g. "arrive 80; wait 5; leave; wait 3; flicker 10 0.1"'
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    simulators: List[PresenceSimulator] = []

    def make() -> PresenceSimulator:
        sim: PresenceSimulator = (
            Ld2410Simulator(engineering=args.engineering)
            if args.kind == "ld2410"
            else TokenSimulator()
        )
        simulators.append(sim)
        return sim

    if args.tcp is not None:
        server = await serve_tcp(make, *args.tcp)
        print(f"presence simulator ({args.kind}) at {socket_url(server)}", flush=True)
    else:
        pty = serve_pty(make())
        print(f"presence simulator ({args.kind}) at {pty.path}", flush=True)
    await run_script(simulators, args.script)
    await asyncio.Event().wait()


def main(argv: List[str]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parse_args(argv)))
    return 0
