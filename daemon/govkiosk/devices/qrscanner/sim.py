"""A serial QR/barcode scanner simulator: it "scans" codes and sends them as lines.

``govkioskctl sim qrscanner --code 'https://example.invalid/hc?id=TEST' --interval 3``
serves one on a pty (or ``--tcp [HOST:]PORT``), prints the port, and sends the codes in turn.
Codes are synthetic; never script a real citizen's code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import List, Optional

from ..simhost import add_tcp_option, serve_pty, serve_tcp, socket_url

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


class ScannerSimulator(asyncio.Protocol):
    def __init__(self, terminator: str = "crlf", encoding: str = "utf-8") -> None:
        self.terminator = TERMINATORS[terminator]
        self.encoding = encoding
        self._transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._transport = None

    def scan(self, code: str) -> None:
        self.send(code.encode(self.encoding) + self.terminator)

    def send(self, raw: bytes) -> None:
        """Raw bytes, for misbehaving scanners (bad encodings, missing terminators)."""
        if self._transport is not None:
            self._transport.write(raw)


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkioskctl sim qrscanner")
    add_tcp_option(parser)
    parser.add_argument("--code", action="append", default=[], help="a code to scan (repeat)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between scans")
    parser.add_argument("--terminator", choices=sorted(TERMINATORS), default="crlf")
    parser.add_argument("--encoding", choices=("utf-8", "gb18030"), default="utf-8")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    simulators: List[ScannerSimulator] = []

    def make() -> ScannerSimulator:
        simulators.append(ScannerSimulator(args.terminator, args.encoding))
        return simulators[-1]

    if args.tcp is not None:
        server = await serve_tcp(make, *args.tcp)
        print(f"scanner simulator at {socket_url(server)}", flush=True)
    else:
        print(f"scanner simulator at {serve_pty(make()).path}", flush=True)
    for code in args.code:
        await asyncio.sleep(args.interval)
        for sim in simulators:
            sim.scan(code)
    await asyncio.Event().wait()


def main(argv: List[str]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parse_args(argv)))
    return 0
