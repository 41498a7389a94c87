"""The SAM module's frame protocol: pure bytes ⇄ frozen dataclasses, no I/O.

Request:  ``AA AA AA 96 69 | LEN (2, big-endian) | CMD PARA [data] | CHK``
Response: ``AA AA AA 96 69 | LEN (2, big-endian) | SW1 SW2 SW3 [data] | CHK``

LEN counts every byte after itself, CHK included; CHK is the XOR of every byte from
the first LEN byte through the last data byte. A reply may arrive in many reads, so
:class:`FrameDecoder` reassembles by LEN and resynchronises on the preamble; nothing
here assumes one read returns one frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import reduce
from operator import xor
from typing import Dict, List, Optional, Union

from .cardtext import PHOTO_SIZE, TEXT_SIZE, Identity, parse_identity
from .errors import ChecksumError, FrameError, status_error

PREAMBLE = bytes.fromhex("AA AA AA 96 69")
_LEN_AT = len(PREAMBLE)
HEADER_SIZE = _LEN_AT + 2
#: The shortest LEN: a request's CMD PARA CHK.
MIN_LEN = 3
#: The longest real reply (text + photo + fingerprint) has LEN 0x090A; anything far
#: beyond is a corrupted length, not a frame worth waiting for.
MAX_LEN = 4096


class Command(enum.IntEnum):
    """CMD and PARA as one big-endian 16-bit value."""

    SAM_STATUS = 0x11FF
    RESET_SAM = 0x10FF
    SAM_ID = 0x12FF
    FIND_CARD = 0x2001
    SELECT_CARD = 0x2002
    READ_TEXT_PHOTO = 0x3001
    READ_TEXT_PHOTO_FINGERPRINT = 0x3010
    SET_MAX_RF_FRAME = 0x61FF


class Status(enum.IntEnum):
    """The SW3 bytes that mean success; failures are in :data:`errors.STATUS_ERRORS`."""

    OK = 0x90
    CARD_FOUND = 0x9F
    # Failures the simulator and tests name directly:
    BAD_CHECKSUM = 0x10
    BAD_COMMAND = 0x21
    READ_FAILED = 0x41
    SAM_SELF_TEST_FAILED = 0x60
    FIND_FAILED = 0x80
    SELECT_FAILED = 0x81


SUCCESS = frozenset((Status.OK, Status.CARD_FOUND))

#: Data bytes in the good reply to each command, where the reply has a fixed shape:
#: find card answers 4 bytes, select card 8, read text + photo 4 + 256 + 1024.
READ_DATA_SIZE = 4 + TEXT_SIZE + PHOTO_SIZE
GOOD_REPLY_SIZE: Dict[int, int] = {
    Command.SAM_STATUS: 0,
    Command.FIND_CARD: 4,
    Command.SELECT_CARD: 8,
    Command.READ_TEXT_PHOTO: READ_DATA_SIZE,
}


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


def _frame(body: bytes) -> bytes:
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes((checksum(length + body),))


def _unframe(frame: bytes, minimum: int) -> bytes:
    """The body (between LEN and CHK) of one complete frame, checked."""
    if frame[:_LEN_AT] != PREAMBLE:
        raise FrameError("frame does not start with the preamble AA AA AA 96 69")
    if len(frame) < HEADER_SIZE + 1:
        raise FrameError(f"frame of {len(frame)} bytes is too short")
    length = int.from_bytes(frame[_LEN_AT:HEADER_SIZE], "big")
    if length != len(frame) - HEADER_SIZE:
        following = len(frame) - HEADER_SIZE
        raise FrameError(f"LEN says {length} bytes follow, the frame has {following}")
    if length < minimum + 1:
        raise FrameError(f"LEN {length} is too short for this frame")
    expected = checksum(frame[_LEN_AT:-1])
    if frame[-1] != expected:
        raise ChecksumError(f"checksum {frame[-1]:02X}, expected {expected:02X}")
    return frame[HEADER_SIZE:-1]


@dataclass(frozen=True)
class Request:
    """What the host sends: a command and, rarely, data (set max RF frame bytes)."""

    command: int
    data: bytes = b""

    def to_bytes(self) -> bytes:
        return _frame(self.command.to_bytes(2, "big") + self.data)

    @classmethod
    def from_bytes(cls, frame: bytes) -> Request:
        body = _unframe(frame, 2)
        return cls(int.from_bytes(body[:2], "big"), body[2:])


@dataclass(frozen=True)
class Response:
    """What the reader answers. ``data`` stays out of ``repr``: it may be a card's text."""

    sw3: int = Status.OK
    data: bytes = field(default=b"", repr=False)
    sw1: int = 0
    sw2: int = 0

    @property
    def ok(self) -> bool:
        return self.sw3 in SUCCESS

    def raise_for_status(self) -> None:
        if not self.ok:
            raise status_error(self.sw3)

    def fits(self, command: int) -> bool:
        """Whether this could be the reply to ``command`` (a failure fits any command).

        A reply that arrives after its request timed out must not be taken for the
        answer to the next request; its shape usually gives it away.
        """
        expected = GOOD_REPLY_SIZE.get(command)
        return not self.ok or expected is None or len(self.data) == expected

    def to_bytes(self) -> bytes:
        return _frame(bytes((self.sw1, self.sw2, self.sw3)) + self.data)

    @classmethod
    def from_bytes(cls, frame: bytes) -> Response:
        body = _unframe(frame, 3)
        return cls(sw1=body[0], sw2=body[1], sw3=body[2], data=body[3:])


def read_reply(identity: Identity) -> Response:
    """The good reply to READ_TEXT_PHOTO for ``identity`` (the simulator's side)."""
    text = identity.to_text_block()
    size = len(text).to_bytes(2, "big") + len(identity.photo).to_bytes(2, "big")
    return Response(Status.OK, size + text + identity.photo)


def identity_from_reply(response: Response) -> Identity:
    """Parse the good reply to READ_TEXT_PHOTO (frame offsets 10–1293).

    Data bytes 0–1 give the text length (256), 2–3 the photo length (1024), both
    big-endian; the text block and the WLT photo follow.
    """
    response.raise_for_status()
    data = response.data
    if len(data) < 4:
        raise FrameError(f"read reply of {len(data)} data bytes has no length fields")
    text_size = int.from_bytes(data[0:2], "big")
    photo_size = int.from_bytes(data[2:4], "big")
    if text_size != TEXT_SIZE or photo_size != PHOTO_SIZE:
        raise FrameError(
            f"read reply announces {text_size} text and {photo_size} photo bytes, "
            f"expected {TEXT_SIZE} and {PHOTO_SIZE}"
        )
    if len(data) < 4 + text_size + photo_size:
        raise FrameError(f"read reply has {len(data)} data bytes, expected {READ_DATA_SIZE}")
    text_end = 4 + text_size
    return parse_identity(data[4:text_end], data[text_end : text_end + photo_size])


Decoded = Union[bytes, FrameError]


class FrameDecoder:
    """Reassembles frames from arbitrary chunks; resynchronises after garbage.

    :meth:`feed` returns, in order, each complete frame whose checksum holds (as
    bytes) and a :class:`FrameError` for each candidate it had to reject (implausible
    LEN, wrong checksum, a new preamble inside the frame). After a rejection it
    searches for the next preamble one byte further on, so a frame hidden behind a
    corrupted one is still found, without waiting for bytes a shortened frame will
    never get. The buffer never holds more than one maximal frame. (The preamble
    ``AA AA AA 96 69`` inside real data would take a 2⁻⁴⁰ coincidence.)
    """

    def __init__(self, max_len: int = MAX_LEN) -> None:
        self._max_len = max_len
        self._buffer = bytearray()

    def reset(self) -> None:
        self._buffer.clear()

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, chunk: bytes) -> List[Decoded]:
        buffer = self._buffer
        buffer += chunk
        out: List[Decoded] = []
        while True:
            start = buffer.find(PREAMBLE)
            if start < 0:
                # Keep a tail that may be the beginning of a preamble.
                del buffer[: max(0, len(buffer) - (len(PREAMBLE) - 1))]
                return out
            del buffer[:start]
            if len(buffer) < HEADER_SIZE:
                return out
            length = int.from_bytes(buffer[_LEN_AT:HEADER_SIZE], "big")
            error = self._check_length(length)
            if error is None:
                total = HEADER_SIZE + length
                if buffer.find(PREAMBLE, 1, total) > 0:
                    error = FrameError("frame cut short: another frame starts inside it")
                elif len(buffer) < total:
                    return out
                else:
                    frame = bytes(buffer[:total])
                    expected = checksum(frame[_LEN_AT:-1])
                    if frame[-1] == expected:
                        del buffer[:total]
                        out.append(frame)
                        continue
                    error = ChecksumError(f"checksum {frame[-1]:02X}, expected {expected:02X}")
            out.append(error)
            del buffer[:1]

    def _check_length(self, length: int) -> Optional[FrameError]:
        if MIN_LEN <= length <= self._max_len:
            return None
        return FrameError(f"implausible LEN {length}: skipped to the next preamble")
