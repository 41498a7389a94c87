"""A Megatec/Q1 UPS on a pty or TCP port: ``govkioskctl sim ups [--tcp [HOST:]PORT] [--script …]``.

The device end of :mod:`.megatec`. Its :class:`UpsModel` is the UPS's physics: mains
present or not, a battery whose voltage falls at ``discharge_rate`` volts a second
while on battery (the low-battery bit follows the voltage), a 10-second self-test.
A script of steps such as ``OL:5,OB:10,OB LB`` (status, seconds; the last step holds)
drives a demo or an end-to-end test; tests may also set the model directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

from ..simhost import add_tcp_option, serve_pty, serve_tcp, socket_url
from .megatec import (
    BATTERY_LOW,
    BEEPER_ON,
    SHUTDOWN_ACTIVE,
    STANDBY,
    TEST_RUNNING,
    UTILITY_FAIL,
    Q1Status,
)

RATING = b"#220.0 000 024.0 50.0\r"
_SHUTDOWN = re.compile(rb"S(\.[2-9]|0[1-9]|10)(R\d{4})?")
_TEST = re.compile(rb"T(L|\d\d)?")


@dataclass
class UpsModel:
    """The simulated UPS's state, shared by every connection to it."""

    mains: bool = True
    battery_voltage: float = 27.0  #: volts now (whole 24 V pack)
    low_voltage: float = 21.5  #: the battery-low bit is set below this
    discharge_rate: float = 0.0  #: volts per second while on battery
    load: float = 14.0
    input_voltage: float = 226.0
    temperature: float = 30.0
    test_seconds: float = 10.0
    echo_unknown: bool = True  #: answer an unknown command by echoing it, as many do
    maker: str = "GOVKIOSK-SIM"
    model: str = "Q1-1000"
    firmware: str = "1.0"
    clock: Callable[[], float] = time.monotonic
    forced_low: bool = False  #: hold the battery-low bit whatever the voltage
    beeper: bool = True
    shutdown: bool = False
    _test_until: float = 0.0
    _since: Optional[float] = field(default=None, repr=False)

    def set_status(self, text: str) -> None:
        """``OL`` / ``OB`` / ``OB LB``, as in a script step."""
        tokens = text.split()
        self._discharge()
        self.mains = "OB" not in tokens
        self.forced_low = "LB" in tokens

    def self_test(self, seconds: Optional[float] = None) -> None:
        self._test_until = self.clock() + (self.test_seconds if seconds is None else seconds)

    def cancel_test(self) -> None:
        self._test_until = 0.0

    def status(self) -> Q1Status:
        self._discharge()
        bits = {
            UTILITY_FAIL: not self.mains,
            BATTERY_LOW: self.forced_low or self.battery_voltage < self.low_voltage,
            STANDBY: True,
            TEST_RUNNING: self.clock() < self._test_until,
            SHUTDOWN_ACTIVE: self.shutdown,
            BEEPER_ON: self.beeper,
        }
        return Q1Status(
            input_voltage=self.input_voltage if self.mains else 0.0,
            input_fault_voltage=self.input_voltage if self.mains else 0.0,
            output_voltage=220.0,
            load=self.load,
            frequency=50.0,
            battery_voltage=round(self.battery_voltage, 1),
            temperature=self.temperature,
            bits=sum(1 << bit for bit, on in bits.items() if on),
        )

    def answer(self, request: bytes) -> Optional[bytes]:
        """The reply to one command (without its ``\\r``), or ``None`` for silence."""
        if request == b"Q1":
            return self.status().to_bytes()
        if request == b"F":
            return RATING
        if request == b"I":
            return f"#{self.maker:<15} {self.model:<10} {self.firmware:<10}\r".encode("ascii")
        if _TEST.fullmatch(request):
            minutes = request[1:]
            self.self_test(None if not minutes.isdigit() else 60.0 * int(minutes))
        elif request == b"CT":
            self.cancel_test()
        elif request == b"Q":
            self.beeper = not self.beeper
        elif _SHUTDOWN.fullmatch(request):
            self.shutdown = True
        elif request == b"C":
            self.shutdown = False
        elif self.echo_unknown:
            return request + b"\r"
        return None

    def _discharge(self) -> None:
        now = self.clock()
        if self._since is not None and not self.mains:
            self.battery_voltage = max(
                0.0, self.battery_voltage - self.discharge_rate * (now - self._since)
            )
        self._since = now


class MegatecSimulator(asyncio.Protocol):
    """One connection to the simulated UPS."""

    def __init__(self, model: UpsModel) -> None:
        self.model = model
        self.transport: Optional[asyncio.WriteTransport] = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        *requests, self._buffer = (self._buffer + data).split(b"\r")
        self._buffer = self._buffer[-64:]
        for request in requests:
            reply = self.model.answer(request.strip(b"\n"))
            if reply is not None and self.transport is not None:
                self.transport.write(reply)


Step = Tuple[str, Optional[float]]


def parse_script(text: str) -> List[Step]:
    """``OL:5,OB:10,OB LB`` → ``[("OL", 5.0), ("OB", 10.0), ("OB LB", None)]``."""
    steps: List[Step] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        status, _, seconds = part.partition(":")
        if not set(status.split()) <= {"OL", "OB", "LB"}:
            raise ValueError(f"unknown status in step {part!r}: use OL, OB, LB")
        steps.append((status, float(seconds) if seconds else None))
    return steps


async def run_script(model: UpsModel, steps: List[Step]) -> None:
    """Apply each step for its time; the last step (or one without a time) holds."""
    for status, seconds in steps:
        model.set_status(status)
        print(f"ups sim: {status}", flush=True)
        if seconds is None:
            return
        await asyncio.sleep(seconds)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="govkioskctl sim ups", description=__doc__.split("\n")[0])
    add_tcp_option(parser)
    parser.add_argument("--script", default="", help='steps such as "OL:5,OB:10,OB LB"')
    parser.add_argument("--voltage", type=float, default=27.0, help="battery voltage at start")
    parser.add_argument("--discharge", type=float, default=0.05, help="volts/s lost on battery")
    parser.add_argument("--silent", action="store_true", help="ignore unknown commands")
    args = parser.parse_args(argv)
    try:
        steps = parse_script(args.script)
    except ValueError as err:
        parser.error(str(err))
    model = UpsModel(
        battery_voltage=args.voltage, discharge_rate=args.discharge, echo_unknown=not args.silent
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(model, args.tcp, steps))
    return 0


async def _serve(model: UpsModel, tcp: Optional[Tuple[str, int]], steps: List[Step]) -> None:
    if tcp is None:
        pty = serve_pty(MegatecSimulator(model))
        print(f"ups sim: Megatec/Q1 UPS on {pty.path}", flush=True)
    else:
        server = await serve_tcp(lambda: MegatecSimulator(model), *tcp)
        print(f"ups sim: Megatec/Q1 UPS on {socket_url(server)}", flush=True)
    await run_script(model, steps)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
