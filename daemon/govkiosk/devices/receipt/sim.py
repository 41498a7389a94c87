"""An ESC/POS receipt printer on a pty or TCP port, for tests, demos and the UI team.

The device end of the protocol: it answers ``DLE EOT n`` at once (real time, also
while offline), drops its unprinted buffer on ``DLE DC4 fn=8``, prints the rest of the
stream in order through :class:`Printout`,
answers ``GS r 1`` when the bytes before it have been printed, and keeps every cut
receipt as structured text. Faults are scripted on :class:`SimPrinter`: paper out now
or after N lines, cover open, offline, busy (slow printing), no answers at all, slow
answers. While the
printer cannot print, received bytes wait in its buffer, as on real hardware, and
print once the fault is cleared; loading paper takes the old roll's end away, with
whatever part of a slip was printed on it.

``govkioskctl sim receipt --tcp 127.0.0.1:9100 --out /tmp/receipts`` runs one by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections import deque
from pathlib import Path
from typing import Callable, Deque, List, Optional, Set

from ..simhost import add_tcp_option, serve_pty, serve_tcp, socket_url
from .escpos import GS
from .printout import Command, PrintedReceipt, Printout, StreamParser
from .render import render_png
from .status import CLEAR_BUFFERS_REQUEST, CLEARED_REPLY, BarrierReply, PrinterStatus

_LOGGER = logging.getLogger(__name__)

DLE, EOT, DC4 = 0x10, 0x04, 0x14


class SimPrinter:
    """One printer: paper, cover, buffer and output, shared by every connection to it."""

    def __init__(
        self,
        *,
        encoding: str = "gb18030",
        on_receipt: Optional[Callable[[PrintedReceipt], None]] = None,
    ) -> None:
        self.printout = Printout(encoding)
        self._parser = StreamParser()
        self._on_receipt = on_receipt
        self._connections: Set[SimConnection] = set()
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.offline = False
        self.silent = False  #: answers nothing: a stalled link or a hung printer
        self.delay = 0.0  #: seconds before each answer
        self.busy = False  #: still printing earlier data: new bytes wait, status stays ready
        self.knows_clear = True  #: understands ``DLE DC4 fn=8``; if not, it is ignored
        self.lines_left: Optional[int] = None  #: paper runs out after this many lines
        self.status_requests = 0

    @property
    def receipts(self) -> List[PrintedReceipt]:
        return self.printout.receipts

    def status(self) -> PrinterStatus:
        stopped = self.paper_out or self.cover_open or self.offline
        return PrinterStatus(
            offline=stopped,
            cover_open=self.cover_open,
            stopped_by_paper_end=self.paper_out,
            paper_out=self.paper_out,
            paper_near_end=self.paper_near_end or self.paper_out,
        )

    @property
    def printing(self) -> bool:
        return not (self.paper_out or self.cover_open or self.offline or self.busy)

    @property
    def waiting_bytes(self) -> int:
        """Bytes received but not printed yet."""
        return self._parser.pending

    # Scripted faults ------------------------------------------------------------
    def run_out_of_paper(self, after_lines: int = 0) -> None:
        if after_lines <= 0:
            self.paper_out = True
        else:
            self.lines_left = after_lines

    def load_paper(self) -> None:
        self.paper_out = False
        self.lines_left = None
        self.printout.tear_off()  # the old roll's end goes, with what was printed on it
        self._pump()

    def set_cover_open(self, is_open: bool) -> None:
        self.cover_open = is_open
        self._pump()

    def set_offline(self, offline: bool) -> None:
        self.offline = offline
        self._pump()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._pump()

    # The wire --------------------------------------------------------------------
    def attach(self, connection: SimConnection) -> None:
        self._connections.add(connection)

    def detach(self, connection: SimConnection) -> None:
        self._connections.discard(connection)

    def answer_status(self, connection: SimConnection, n: int) -> None:
        self.status_requests += 1
        connection.answer(self.status().to_replies()[n - 1])

    def clear_buffers(self, connection: SimConnection) -> None:
        """``DLE DC4 fn=8``: drop every byte received and not printed yet."""
        self._parser = StreamParser()
        connection.reply(CLEARED_REPLY)

    def received(self, connection: SimConnection, data: bytes) -> None:
        self._parser.feed(data)
        self._pump(connection)

    def _pump(self, connection: Optional[SimConnection] = None) -> None:
        while self.printing:
            item = self._parser.next()
            if item is None:
                return
            if isinstance(item, Command) and (item.prefix, item.code) == (GS, 0x72):
                self._answer_barrier(connection)
                continue
            cuts = len(self.printout.receipts)
            self._use_paper(self.printout.apply(item))
            if len(self.printout.receipts) > cuts and self._on_receipt is not None:
                self._on_receipt(self.printout.receipts[-1])

    def _answer_barrier(self, connection: Optional[SimConnection]) -> None:
        reply = BarrierReply(self.paper_near_end, self.paper_out).to_byte()
        for target in [connection] if connection is not None else list(self._connections):
            target.answer(reply)

    def _use_paper(self, lines: int) -> None:
        if self.lines_left is None or lines == 0:
            return
        self.lines_left -= lines
        if self.lines_left <= 0:
            self.lines_left = None
            self.paper_out = True
            _LOGGER.info("receipt sim: out of paper")


class SimConnection(asyncio.Protocol):
    """One link to the printer; picks the real-time commands (``DLE EOT n``, ``DLE DC4
    fn=8``) out of the stream."""

    def __init__(self, printer: SimPrinter) -> None:
        self._printer = printer
        self._transport: Optional[asyncio.WriteTransport] = None
        self._held = b""  # the start of a DLE EOT split across reads
        self._later: Deque[asyncio.TimerHandle] = deque()  # delayed answers, in order

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._printer.attach(self)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._printer.detach(self)
        for handle in self._later:
            handle.cancel()
        self._transport = None

    def data_received(self, data: bytes) -> None:
        buf = self._held + data
        self._held = b""
        rest = bytearray()
        i = 0
        while i < len(buf):
            if buf[i] == DLE and buf[i + 1 : i + 2] in (b"", bytes([EOT])):
                if len(buf) - i < 3:
                    self._held = bytes(buf[i:])
                    break
                if 1 <= buf[i + 2] <= 4:
                    self._printer.answer_status(self, buf[i + 2])
                    i += 3
                    continue
            if buf[i] == DLE and buf[i + 1 : i + 2] == bytes([DC4]):
                start = bytes(buf[i : i + len(CLEAR_BUFFERS_REQUEST)])
                if len(start) < len(CLEAR_BUFFERS_REQUEST) and CLEAR_BUFFERS_REQUEST.startswith(
                    start
                ):
                    self._held = start
                    break
                if start == CLEAR_BUFFERS_REQUEST:
                    if self._printer.knows_clear:
                        self._printer.clear_buffers(self)
                    i += len(start)
                    continue
            rest.append(buf[i])
            i += 1
        if rest:
            self._printer.received(self, bytes(rest))

    def answer(self, byte: int) -> None:
        self.reply(bytes([byte]))

    def reply(self, data: bytes) -> None:
        """Answer on this link: at once, later (``delay``) or never (``silent``)."""
        if self._printer.silent or self._transport is None:
            return
        if self._printer.delay > 0:
            later = asyncio.get_running_loop().call_later(self._printer.delay, self._deliver, data)
            self._later.append(later)
            return
        self._send(data)

    def _deliver(self, data: bytes) -> None:
        self._later.popleft()
        self._send(data)

    def _send(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


def save_receipt(receipt: PrintedReceipt, directory: Path, number: int) -> Path:
    """``NNN.txt`` (transcript) and ``NNN.png`` (rendering); returns the PNG's path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"{number:03d}"
    stem.with_suffix(".txt").write_text(receipt.transcript(), encoding="utf-8")
    render_png(receipt, stem.with_suffix(".png"))
    return stem.with_suffix(".png")


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="govkioskctl sim receipt", description=__doc__.split("\n")[0]
    )
    add_tcp_option(parser)
    parser.add_argument("--out", type=Path, help="save each receipt here as NNN.txt and NNN.png")
    parser.add_argument("--encoding", choices=("gb18030", "gbk"), default="gb18030")
    parser.add_argument(
        "--paper-out-after", type=int, metavar="LINES", help="run out of paper after LINES lines"
    )
    parser.add_argument("--cover-open", action="store_true")
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    return parser.parse_args(argv)


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))
    return 0


async def _run(args: argparse.Namespace) -> None:
    saved = [0]

    def on_receipt(receipt: PrintedReceipt) -> None:
        print(receipt.transcript(), flush=True)
        if args.out is not None:
            saved[0] += 1
            print(f"saved {save_receipt(receipt, args.out, saved[0])}", flush=True)

    printer = SimPrinter(encoding=args.encoding, on_receipt=on_receipt)
    if args.paper_out_after is not None:
        printer.run_out_of_paper(args.paper_out_after)
    printer.set_cover_open(args.cover_open)
    printer.set_offline(args.offline)
    printer.delay = args.delay
    if args.tcp is not None:
        server = await serve_tcp(lambda: SimConnection(printer), *args.tcp)
        print(f"receipt printer listening on {socket_url(server)}", flush=True)
        async with server:
            await server.serve_forever()
    transport = serve_pty(SimConnection(printer))
    print(f"receipt printer on {transport.path}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()
