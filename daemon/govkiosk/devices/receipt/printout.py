"""Reading an ESC/POS byte stream back into receipts: the simulator's print head.

:class:`StreamParser` splits bytes into commands and text, however they are chunked;
:class:`Printout` applies them the way a printer does (alignment, bold, size, Chinese
mode, QR symbol storage, cuts) and keeps what was printed as structured text. Both are
pure and never raise on bad input: a printer prints garbage, it does not crash.
Real-time ``DLE EOT`` requests are answered by the simulator before bytes get here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import List, Optional, Tuple, Union

from .escpos import ESC, FS, GS, LF, Align, Style

DLE = 0x10

#: Command bytes after ESC / GS / FS → total command length (prefix included).
_FIXED = {
    ESC: {
        0x40: 2,
        0x61: 3,
        0x45: 3,
        0x64: 3,
        0x21: 3,
        0x2D: 3,
        0x4D: 3,
        0x74: 3,
        0x32: 2,
        0x33: 3,
        0x4A: 3,
        0x47: 3,
        0x20: 3,
        0x52: 3,
    },
    GS: {0x21: 3, 0x72: 3, 0x61: 3, 0x42: 3, 0x48: 3, 0x66: 3, 0x68: 3, 0x77: 3},
    FS: {0x26: 2, 0x2E: 2},
    DLE: {0x04: 3, 0x05: 3, 0x14: 5},
}
_EC_LETTERS = {0x30: "L", 0x31: "M", 0x32: "Q", 0x33: "H"}


@dataclass(frozen=True)
class Text:
    data: bytes


@dataclass(frozen=True)
class Command:
    """A command: its prefix and code byte, then its arguments (for ``GS ( k``, the body)."""

    prefix: int
    code: int
    args: bytes = b""


Item = Union[Text, Command]


class StreamParser:
    """Incremental: :meth:`feed` bytes as they come, take items with :meth:`next`."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def next(self) -> Optional[Item]:
        """The next complete item, or ``None`` until more bytes arrive."""
        buf = self._buffer
        if not buf:
            return None
        first = buf[0]
        if first >= 0x20:
            end = next((i for i, b in enumerate(buf) if b < 0x20), len(buf))
            return self._take(end, Text(bytes(buf[:end])))
        if first not in _FIXED:
            return self._take(1, Command(0, first))
        if len(buf) < 2:
            return None
        code = buf[1]
        if first == GS and code == 0x56:  # GS V m [n]: n only for m = 65, 66
            size = 4 if len(buf) > 2 and buf[2] in (0x41, 0x42) else 3
        elif first == GS and code == 0x28:  # GS ( k pL pH body
            size = 5 + buf[3] + 256 * buf[4] if len(buf) >= 5 else 5
        else:
            size = _FIXED[first].get(code, 2)
        if len(buf) < size:
            return None
        args = bytes(buf[2:size]) if not (first == GS and code == 0x28) else bytes(buf[5:size])
        return self._take(size, Command(first, code, args))

    def _take(self, size: int, item: Item) -> Item:
        del self._buffer[:size]
        return item


@dataclass(frozen=True)
class PrintedLine:
    text: str
    style: Style = field(default_factory=Style)


@dataclass(frozen=True)
class PrintedQr:
    data: str
    module_size: int
    error_correction: str
    align: Align


PrintedBlock = Union[PrintedLine, PrintedQr]


@dataclass(frozen=True)
class PrintedReceipt:
    """What came out of the printer between two cuts."""

    blocks: Tuple[PrintedBlock, ...]
    cut: str  #: ``full``, ``partial``, or empty while the receipt is still being printed

    @property
    def lines(self) -> List[str]:
        return [b.text for b in self.blocks if isinstance(b, PrintedLine)]

    @property
    def qr_codes(self) -> List[str]:
        return [b.data for b in self.blocks if isinstance(b, PrintedQr)]

    def transcript(self) -> str:
        out = []
        for block in self.blocks:
            if isinstance(block, PrintedQr):
                out.append(f"[QR {block.error_correction}/{block.module_size}: {block.data}]")
            else:
                marks = ("B" if block.style.bold else "") + (
                    f"x{block.style.width}{block.style.height}"
                    if (block.style.width, block.style.height) != (1, 1)
                    else ""
                )
                prefix = {Align.LEFT: "<", Align.CENTER: "|", Align.RIGHT: ">"}[block.style.align]
                out.append(f"{prefix}{marks:<4}{block.text}")
        out.append(f"--- {self.cut} cut ---" if self.cut else "--- not cut ---")
        return "\n".join(out) + "\n"


@dataclass
class _Segments:
    """A line's raw text, kept per mode and decoded at the line feed."""

    parts: List[Tuple[bool, bytearray]] = field(default_factory=list)

    def add(self, chinese: bool, data: bytes) -> None:
        if self.parts and self.parts[-1][0] == chinese:
            self.parts[-1][1].extend(data)
        else:
            self.parts.append((chinese, bytearray(data)))

    def decode(self, encoding: str) -> str:
        return "".join(
            bytes(raw).decode(encoding if chinese else "cp437", errors="replace")
            for chinese, raw in self.parts
        )


class Printout:
    """A printer's state and output; :meth:`apply` returns how many lines of paper it used."""

    def __init__(self, encoding: str = "gb18030") -> None:
        self._encoding = encoding
        self.receipts: List[PrintedReceipt] = []
        self._reset()
        self._blocks: List[PrintedBlock] = []
        self._line = _Segments()

    def _reset(self) -> None:
        self._style = Style()
        self._chinese = False
        self._qr_data = b""
        self._qr_size = 3
        self._qr_ec = "L"

    @property
    def current(self) -> PrintedReceipt:
        """The receipt printed so far but not yet cut."""
        return PrintedReceipt(tuple(self._blocks), "")

    def apply(self, item: Item) -> int:
        if isinstance(item, Text):
            self._line.add(self._chinese, item.data)
            return 0
        key = (item.prefix, item.code)
        if key == (0, LF):
            self._end_line()
            return 1
        if key == (ESC, 0x64):  # ESC d n
            for _ in range(item.args[0]):
                self._end_line()
            return item.args[0]
        if key == (GS, 0x28):
            return self._qr(item.args)
        if key == (GS, 0x56):
            self._cut(item.args)
        else:
            self._set(key, item.args)
        return 0

    def _set(self, key: Tuple[int, int], args: bytes) -> None:
        if key == (ESC, 0x40):
            self._reset()
        elif key == (ESC, 0x61):
            self._style = replace(self._style, align=Align(args[0] % 0x30 % 3))
        elif key == (ESC, 0x45):
            self._style = replace(self._style, bold=bool(args[0] & 1))
        elif key == (GS, 0x21):
            self._style = replace(
                self._style, width=(args[0] >> 4 & 7) + 1, height=(args[0] & 7) + 1
            )
        elif key == (FS, 0x26):
            self._chinese = True
        elif key == (FS, 0x2E):
            self._chinese = False

    def _end_line(self) -> None:
        self._blocks.append(PrintedLine(self._line.decode(self._encoding), self._style))
        self._line = _Segments()

    def _qr(self, body: bytes) -> int:
        if len(body) < 3 or body[0] != 0x31:
            return 0
        function, value = body[1], body[2]
        if function == 0x43:
            self._qr_size = value
        elif function == 0x45:
            self._qr_ec = _EC_LETTERS.get(value, "?")
        elif function == 0x50:
            self._qr_data = body[3:]
        elif function == 0x51 and self._qr_data:
            data = self._qr_data.decode("utf-8", errors="replace")
            self._blocks.append(PrintedQr(data, self._qr_size, self._qr_ec, self._style.align))
            return 1
        return 0

    def tear_off(self) -> None:
        """The paper printed since the last cut is taken away uncut (a roll's end)."""
        self._line = _Segments()
        self._blocks = []

    def _cut(self, args: bytes) -> None:
        if self._line.parts:
            self._end_line()
        partial = bool(args[0] & 1) if args[0] < 0x30 else args[0] == 0x31
        if len(args) == 2:
            partial = args[0] == 0x42
        self.receipts.append(PrintedReceipt(tuple(self._blocks), "partial" if partial else "full"))
        self._blocks = []
