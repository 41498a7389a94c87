"""The reader's end of the wire: a scriptable SAM module on a pty or a TCP port.

:class:`SimulatedReader` holds what is on the reader (a synthetic card or nothing) and
what to do wrong next (an SW3 error, a broken checksum, slow or fragmented replies);
:class:`SimulatedReaderProtocol` speaks the frames. Several connections (TCP) share one
reader, as several hosts would share one physical reader's card.

Find card answers 9F for a card nobody has read since it was placed and 80 afterwards
(``finds_read_cards`` makes it answer 9F as long as the card lies there, as some
readers do); select answers 90 while a card is in the field.

``govkioskctl sim idcard [--tcp [HOST:]PORT] [--every SECONDS] [--kind KIND] [--photo PATH]``
runs it by hand; type a command and Enter (``?`` lists them). With ``--photo`` every card
carries that face as its photo (:mod:`.simphoto`), for the face verifier's simulated
decoder; the synthetic holders' photos are random bytes otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import stat
import sys
import time
from collections import defaultdict, deque
from typing import Callable, DefaultDict, Deque, List, Optional, Set, Tuple

from ..simhost import add_tcp_option, serve_pty, serve_tcp, socket_url
from .cardtext import CardKind, Identity
from .errors import ChecksumError, FrameError
from .protocol import Command, FrameDecoder, Request, Response, Status, read_reply
from .simphoto import SimPhotoError, read_photo
from .synthetic import GENERATORS, carrying

_FIND_DATA = bytes(4)
_SELECT_DATA = bytes(8)
_SAM_ID = bytes(range(16))


class SimulatedReader:
    """The reader's state and its scripted misbehaviour."""

    def __init__(self) -> None:
        self.card: Optional[Identity] = None
        self.sam_status = int(Status.OK)
        self.reply_delay = 0.0  #: seconds before each reply starts
        self.chunk_size = 0  #: >0: replies go out in pieces of this many bytes…
        self.chunk_gap = 0.0  #: …this many seconds apart
        #: Some readers answer 9F to find card for as long as a card lies there, read or not.
        self.finds_read_cards = False
        self.requests: List[int] = []  #: every command received, in order
        self.reads = 0  #: good READ_TEXT_PHOTO replies sent
        #: Called with the command right after its reply's last byte was written.
        self.on_reply: Optional[Callable[[int], None]] = None
        self._card_read = False
        self._faults: DefaultDict[int, Deque[int]] = defaultdict(deque)
        self._corrupt = 0

    # --- scripting ------------------------------------------------------------------

    def place(self, identity: Identity) -> None:
        self.card = identity
        self._card_read = False

    def remove(self) -> None:
        self.card = None

    def fail_next(self, command: Command, status: int, times: int = 1) -> None:
        """Answer the next ``times`` ``command`` requests with SW3 ``status``."""
        self._faults[command].extend([status] * times)

    def corrupt_next(self, times: int = 1) -> None:
        """Send the next ``times`` replies with a wrong checksum."""
        self._corrupt += times

    @property
    def shaped(self) -> bool:
        return self.reply_delay > 0 or self.chunk_size > 0

    # --- answering ------------------------------------------------------------------

    def answer(self, request: Request) -> bytes:
        self.requests.append(request.command)
        frame = self._respond(request).to_bytes()
        if self._corrupt:
            self._corrupt -= 1
            frame = frame[:-1] + bytes((frame[-1] ^ 0x5A,))
        return frame

    def _respond(self, request: Request) -> Response:
        command = request.command
        if self._faults[command]:
            return Response(self._faults[command].popleft())
        if command == Command.SAM_STATUS:
            return Response(self.sam_status)
        if command == Command.FIND_CARD:
            if self.card is not None and (self.finds_read_cards or not self._card_read):
                return Response(Status.CARD_FOUND, _FIND_DATA)
            return Response(Status.FIND_FAILED)
        if command == Command.SELECT_CARD:
            if self.card is None:
                return Response(Status.SELECT_FAILED)
            return Response(Status.OK, _SELECT_DATA)
        if command == Command.READ_TEXT_PHOTO:
            if self.card is None:
                return Response(Status.READ_FAILED)
            self._card_read = True
            self.reads += 1
            return read_reply(self.card)
        if command == Command.SAM_ID:
            return Response(Status.OK, _SAM_ID)
        if command in (Command.RESET_SAM, Command.SET_MAX_RF_FRAME):
            return Response(Status.OK)
        return Response(Status.BAD_COMMAND)


class SimulatedReaderProtocol(asyncio.Protocol):
    """One connection to a :class:`SimulatedReader`."""

    def __init__(self, reader: SimulatedReader) -> None:
        self._reader = reader
        self._decoder = FrameDecoder()
        self._transport: Optional[asyncio.Transport] = None
        self._outbox: asyncio.Queue[Tuple[int, bytes]] = asyncio.Queue()
        self._tasks: Set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        task = asyncio.ensure_future(self._send_shaped())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._transport = None

    def data_received(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, ChecksumError):
                self._send(Command.SAM_STATUS, Response(Status.BAD_CHECKSUM).to_bytes())
            elif not isinstance(item, FrameError):
                request = Request.from_bytes(item)
                self._send(request.command, self._reader.answer(request))

    def _send(self, command: int, frame: bytes) -> None:
        if self._transport is None:
            return
        if self._reader.shaped or not self._outbox.empty():
            self._outbox.put_nowait((command, frame))
            return
        self._transport.write(frame)
        self._replied(command)

    def _replied(self, command: int) -> None:
        if self._reader.on_reply is not None:
            self._reader.on_reply(command)

    async def _send_shaped(self) -> None:
        """Replies in order, each after ``reply_delay``, in ``chunk_size`` pieces."""
        reader = self._reader
        while True:
            command, frame = await self._outbox.get()
            await asyncio.sleep(reader.reply_delay)
            step = reader.chunk_size or len(frame)
            for start in range(0, len(frame), step):
                if self._transport is None:
                    return
                self._transport.write(frame[start : start + step])
                if start + step < len(frame):
                    await asyncio.sleep(reader.chunk_gap)
            self._replied(command)


# --- by hand: govkioskctl sim idcard -------------------------------------------------

KINDS = {
    "resident": CardKind.RESIDENT,
    "permit": CardKind.RESIDENCE_PERMIT,
    "foreign2017": CardKind.FOREIGN_2017,
    "foreign2023": CardKind.FOREIGN_2023,
}
_KEYS = {"r": "resident", "j": "permit", "i": "foreign2017", "y": "foreign2023"}

HELP = """commands (then Enter):
  (empty)  place a synthetic card of the default kind, or take the card away
  r j i y  place a resident card / HK-Macao-Taiwan permit / foreign card 2017 / 2023
  x        take the card away
  e XX     answer the next read with SW3 XX (hex, e.g. 41)
  s XX     SAM status from now on (90 = healthy, 60 = self-test failed)
  c        send the next reply with a wrong checksum
  slow MS  start each reply MS milliseconds late, in 64-byte pieces (0 = normal)
  q        quit"""


class Console:
    """Turns the lines a person types into changes of the simulated reader."""

    def __init__(
        self,
        reader: SimulatedReader,
        default: str,
        rng: random.Random,
        photo: Optional[bytes] = None,
    ) -> None:
        self.reader = reader
        self.default = default
        self.rng = rng
        self.photo = photo  #: every card's photo bytes (simphoto); random when None

    def place(self, kind: str) -> str:
        identity = GENERATORS[KINDS[kind]](self.rng)
        if self.photo is not None:
            identity = carrying(identity, self.photo)
        self.reader.place(identity)
        return f"placed a synthetic {kind} card" + (" with the photo" if self.photo else "")

    def execute(self, line: str) -> str:
        words = line.split()
        if not words:
            if self.reader.card is None:
                return self.place(self.default)
            self.reader.remove()
            return "card taken away"
        verb, args = words[0].lower(), words[1:]
        try:
            return self._command(verb, args)
        except (ValueError, IndexError):
            return f"cannot do {line.strip()!r}; ? lists the commands"

    def _command(self, verb: str, args: List[str]) -> str:
        if verb in _KEYS:
            return self.place(_KEYS[verb])
        if verb == "x":
            self.reader.remove()
            return "card taken away"
        if verb == "e":
            self.reader.fail_next(Command.READ_TEXT_PHOTO, int(args[0], 16))
            return f"the next read answers SW3 {args[0].upper()}"
        if verb == "s":
            self.reader.sam_status = int(args[0], 16)
            return f"SAM status is now {args[0].upper()}"
        if verb == "c":
            self.reader.corrupt_next()
            return "the next reply has a wrong checksum"
        if verb == "slow":
            delay = int(args[0]) / 1000
            self.reader.reply_delay = delay
            self.reader.chunk_size = 64 if delay else 0
            self.reader.chunk_gap = delay / 20
            return f"replies start {args[0]} ms late" if delay else "replies at full speed"
        return HELP


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="govkioskctl sim idcard",
        description="a simulated ID card reader (SAM module) on a pty or TCP port",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_tcp_option(parser)
    parser.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="place a fresh card every SECONDS and take it away halfway",
    )
    parser.add_argument("--kind", choices=sorted(KINDS), default="resident")
    parser.add_argument("--seed", type=int, help="make the synthetic cards repeatable")
    parser.add_argument(
        "--photo",
        metavar="PATH",
        help="an image of a face: every card carries it as its photo (simulated decoder)",
    )
    return parser.parse_args(argv)


def _pollable(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return (stat.S_ISCHR(mode) and os.isatty(fd)) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def _cycle(console: Console, every: float) -> None:
    while True:
        print(console.place(console.default), flush=True)
        await asyncio.sleep(every / 2)
        console.reader.remove()
        print("card taken away", flush=True)
        await asyncio.sleep(every / 2)


async def _serve(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    reader = SimulatedReader()
    console = Console(reader, args.kind, random.Random(args.seed), args.photo_bytes)
    quit_ = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, quit_.set)
    if args.tcp is not None:
        server = await serve_tcp(lambda: SimulatedReaderProtocol(reader), *args.tcp)
        where = socket_url(server)
    else:
        pty = serve_pty(SimulatedReaderProtocol(reader))
        where = pty.path
    print(f"idcard simulator listening on {where}\n{HELP}", flush=True)

    def on_line() -> None:
        line = sys.stdin.readline()
        if not line:  # end of input: keep serving until interrupted
            loop.remove_reader(sys.stdin.fileno())
        elif line.strip().lower() == "q":
            quit_.set()
        else:
            print(console.execute(line), flush=True)

    if _pollable(sys.stdin.fileno()):  # not /dev/null or a file: nobody to type
        loop.add_reader(sys.stdin.fileno(), on_line)
    cycle = asyncio.ensure_future(_cycle(console, args.every)) if args.every else None
    started = time.monotonic()
    try:
        await quit_.wait()
    finally:
        loop.remove_reader(sys.stdin.fileno())
        if cycle is not None:
            cycle.cancel()
        if args.tcp is not None:
            server.close()
        else:
            pty.close()
    print(f"served {reader.reads} reads in {time.monotonic() - started:.0f} s", flush=True)
    return 0


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    if args.every is not None and args.every <= 0:
        print("govkioskctl sim idcard: --every needs a number of seconds > 0", file=sys.stderr)
        return 2
    args.photo_bytes = None
    if args.photo is not None:
        try:
            args.photo_bytes = read_photo(args.photo)
        except SimPhotoError as err:
            print(f"govkioskctl sim idcard: --photo: {err}", file=sys.stderr)
            return 2
    return asyncio.run(_serve(args))
