"""Splitting a byte stream into terminated lines, for the devices that speak in lines.

Simple sensors and serial barcode scanners end each message with CR, LF or CR LF,
depending on the model and on how an installer set it up. :class:`LineFramer` is pure:
bytes in, complete lines out, no I/O. A line that grows past ``max_length`` is
dropped up to its terminator and reported as :class:`LineTooLong`, so a stuck or
noisy device cannot make the driver hold an unbounded buffer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Union

#: What ends a line: one of these names.
TERMINATORS = ("any", "cr", "lf", "crlf")

_SPLITTERS = {
    # "any": CR, LF or CR LF; the empty lines between CR and LF are dropped below.
    "any": re.compile(rb"\r\n|\r|\n"),
    "cr": re.compile(rb"\r"),
    "lf": re.compile(rb"\n"),
    "crlf": re.compile(rb"\r\n"),
}


@dataclass(frozen=True)
class LineTooLong:
    """A line longer than allowed was discarded; ``length`` is what was seen of it."""

    length: int


Line = Union[bytes, LineTooLong]


class LineFramer:
    """Feed bytes, get back the complete lines (without terminators) in order."""

    def __init__(self, terminator: str = "any", max_length: int = 4096) -> None:
        if terminator not in _SPLITTERS:
            raise ValueError(f"terminator must be one of {', '.join(TERMINATORS)}")
        self._splitter = _SPLITTERS[terminator]
        self._keep_tail = 1 if terminator == "crlf" else 0  # a CR may be half of CR LF
        self._max_length = max_length
        self._buffer = b""
        self._discarding = 0  # bytes dropped so far of an over-long line

    def feed(self, data: bytes) -> List[Line]:
        pieces = self._splitter.split(self._buffer + data)
        self._buffer = pieces.pop()
        lines: List[Line] = []
        for piece in pieces:
            if self._discarding:
                lines.append(LineTooLong(self._discarding + len(piece)))
                self._discarding = 0
            elif len(piece) > self._max_length:
                lines.append(LineTooLong(len(piece)))
            elif piece:
                lines.append(piece)
        if len(self._buffer) > self._max_length + self._keep_tail:
            self._discarding += len(self._buffer)
            self._buffer = b""
        return lines
