"""ESC/POS encoding of receipts: pure bytes, no I/O.

A :class:`Receipt` is a small document (styled lines, QR codes, feeds, cuts) that the
driver prints and a later capability builds per-item templates on. Every block
encodes to whole commands, so the driver can send block by block and never splits
a command.

Chinese text: python-escpos switches to GB18030 only when a string holds a CJK
ideograph and never sends ``FS &``, trusting the printer to be in Chinese mode
already; CJK punctuation alone (``、。：``) then prints as code-page garbage. Here any
line with a non-ASCII character goes out as ``FS &`` + GB18030 (or GBK) + ``FS .``;
ASCII-only lines stay outside Chinese mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import List, Tuple, Union

from .errors import EncodeError

ESC = 0x1B
GS = 0x1D
FS = 0x1C
DLE = 0x10
LF = 0x0A

INIT = bytes([ESC, 0x40])  # ESC @
CHINESE_ON = bytes([FS, 0x26])  # FS &
CHINESE_OFF = bytes([FS, 0x2E])  # FS .
QR_MODEL_2 = bytes([GS, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00])
QR_PRINT = bytes([GS, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30])
#: ``GS ( k`` function 180 stores at most this many bytes for a model 2 symbol.
QR_MAX_DATA = 7089
MAX_SIZE = 8  #: ``GS !`` multiplies width and height by 1..8


class Align(enum.IntEnum):
    LEFT = 0
    CENTER = 1
    RIGHT = 2


class ErrorCorrection(enum.IntEnum):
    """QR error-correction level; the value is the ``GS ( k`` function 169 argument."""

    L = 0x30
    M = 0x31
    Q = 0x32
    H = 0x33


def align(value: Align) -> bytes:
    return bytes([ESC, 0x61, value])  # ESC a n


def bold(on: bool) -> bytes:
    return bytes([ESC, 0x45, 1 if on else 0])  # ESC E n


def char_size(width: int = 1, height: int = 1) -> bytes:
    """``GS ! n``: the high nibble is width−1, the low nibble height−1."""
    if not (1 <= width <= MAX_SIZE and 1 <= height <= MAX_SIZE):
        raise EncodeError(f"character size {width}x{height}: each must be 1..{MAX_SIZE}")
    return bytes([GS, 0x21, (width - 1) << 4 | (height - 1)])


def feed(lines: int) -> bytes:
    if not 0 <= lines <= 255:
        raise EncodeError(f"feed of {lines} lines: expected 0..255")
    return bytes([ESC, 0x64, lines])  # ESC d n


def text(value: str, encoding: str = "gb18030") -> bytes:
    """One line's text (no line feed): ASCII as is, anything else in Chinese mode."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise EncodeError("receipt text may not hold control characters")
    if value.isascii():
        return value.encode("ascii")
    try:
        encoded = value.encode(encoding)
    except UnicodeEncodeError as err:
        raise EncodeError(f"a character cannot be sent in {encoding}: {err.reason}") from err
    return CHINESE_ON + encoded + CHINESE_OFF


def qr_module_size(size: int) -> bytes:
    if not 1 <= size <= 16:
        raise EncodeError(f"QR module size {size}: expected 1..16")
    return bytes([GS, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, size])


def qr_error_correction(level: ErrorCorrection) -> bytes:
    return bytes([GS, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, level])


def qr_store(data: bytes) -> bytes:
    """``GS ( k pL pH 31 50 30 d…``: pL + 256·pH counts the data plus the 3 bytes ``31 50 30``."""
    if not 1 <= len(data) <= QR_MAX_DATA:
        raise EncodeError(f"QR data of {len(data)} bytes: expected 1..{QR_MAX_DATA}")
    size = len(data) + 3
    return bytes([GS, 0x28, 0x6B, size & 0xFF, size >> 8, 0x31, 0x50, 0x30]) + data


def cut(*, partial: bool = True, feed_lines: int = 0) -> bytes:
    """``GS V 0|1`` cuts at once; ``GS V 65|66 n`` feeds ``n`` units to the cutter first."""
    if feed_lines == 0:
        return bytes([GS, 0x56, 0x01 if partial else 0x00])
    if not 0 < feed_lines <= 255:
        raise EncodeError(f"feed before cut of {feed_lines}: expected 0..255")
    return bytes([GS, 0x56, 0x42 if partial else 0x41, feed_lines])


@dataclass(frozen=True)
class Style:
    align: Align = Align.LEFT
    bold: bool = False
    width: int = 1
    height: int = 1

    def encode(self) -> bytes:
        return align(self.align) + bold(self.bold) + char_size(self.width, self.height)


@dataclass(frozen=True)
class Line:
    """One printed line. Longer text wraps on the printer; keep within the paper width."""

    text: str
    style: Style = field(default_factory=Style)

    def encode(self, encoding: str) -> bytes:
        return self.style.encode() + text(self.text, encoding) + bytes([LF])


@dataclass(frozen=True)
class QrCode:
    """A QR code (model 2). The payload goes to the printer as UTF-8."""

    data: str
    module_size: int = 6
    error_correction: ErrorCorrection = ErrorCorrection.M
    align: Align = Align.CENTER

    def encode(self, encoding: str) -> bytes:
        return (
            align(self.align)
            + QR_MODEL_2
            + qr_module_size(self.module_size)
            + qr_error_correction(self.error_correction)
            + qr_store(self.data.encode("utf-8"))
            + QR_PRINT
        )


@dataclass(frozen=True)
class Feed:
    lines: int = 1

    def encode(self, encoding: str) -> bytes:
        return feed(self.lines)


@dataclass(frozen=True)
class Cut:
    partial: bool = True
    feed_lines: int = 0

    def encode(self, encoding: str) -> bytes:
        return cut(partial=self.partial, feed_lines=self.feed_lines)


Block = Union[Line, QrCode, Feed, Cut]

#: Paper used, for the roll's prediction: 203 dpi heads print 8 dots a mm; the
#: default line spacing (``ESC 2``) is 1/6 inch.
DOTS_PER_MM = 8.0
LINE_MM = 25.4 / 6
#: Paper fed between the head and the cutter at a cut.
CUT_MM = 12.0


def length_mm(receipt: Receipt) -> float:
    """An estimate of the paper a receipt uses, in mm (never its content)."""
    total = 0.0
    for block in receipt.blocks:
        if isinstance(block, Line):
            total += LINE_MM * block.style.height
        elif isinstance(block, QrCode):
            # Version grows with the payload; about 14 bytes a version at level M.
            version = min(40, 1 + len(block.data.encode("utf-8")) // 14)
            total += (17 + 4 * version) * block.module_size / DOTS_PER_MM + LINE_MM
        elif isinstance(block, Feed):
            total += LINE_MM * block.lines
        else:
            total += CUT_MM + LINE_MM * block.feed_lines
    return total


@dataclass(frozen=True)
class Receipt:
    """A receipt as blocks in print order; it usually ends with a :class:`Cut`."""

    blocks: Tuple[Block, ...] = field(default_factory=tuple)

    def encode_blocks(self, encoding: str = "gb18030") -> List[Tuple[Block, bytes]]:
        """Each block with its bytes; send :data:`INIT` before the first."""
        return [(block, block.encode(encoding)) for block in self.blocks]

    def encode(self, encoding: str = "gb18030") -> bytes:
        return INIT + b"".join(data for _block, data in self.encode_blocks(encoding))
