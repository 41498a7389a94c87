"""The HLK-LD2410 mmWave radar's serial protocol (Hi-Link serial protocol V1.00).

All integers are little-endian. The module streams *report frames* about ten times a
second and answers *command frames* with ACK frames::

    report  F4 F3 F2 F1 | len (2) | type (02 basic, 01 engineering) AA <target> 55 00 | F8 F7 F6 F5
    command FD FC FB FA | len (2) | command word (2) + value                           | 04 03 02 01
    ACK     FD FC FB FA | len (2) | command word | 0x0100 (2) + status (2) + data      | 04 03 02 01

Basic target data (9 bytes): state (0 none, 1 moving, 2 stationary, 3 both), moving
target distance (cm, 2), its energy (0-100), stationary target distance (cm, 2), its
energy, detection distance (cm, 2). Engineering frames append the highest moving and
stationary gate N, the per-gate energies (N+1 each) and vendor bytes we keep opaque.

:class:`Decoder` is pure and resynchronises: garbage, truncated frames and bad trailers
cost the bytes up to the next header, never the stream.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

BAUDRATE = 256000

REPORT_HEAD = bytes.fromhex("F4F3F2F1")
REPORT_TAIL = bytes.fromhex("F8F7F6F5")
COMMAND_HEAD = bytes.fromhex("FDFCFBFA")
COMMAND_TAIL = bytes.fromhex("04030201")

TYPE_ENGINEERING = 0x01
TYPE_BASIC = 0x02
TARGET_HEAD = 0xAA
TARGET_TAIL = 0x55
TARGET_CHECK = 0x00

#: Both frame kinds fit the module's 64-byte buffer; a longer length field is noise.
MAX_PAYLOAD = 64

CMD_ENABLE_CONFIG = 0x00FF
CMD_END_CONFIG = 0x00FE
CMD_READ_FIRMWARE = 0x00A0
ACK_FLAG = 0x0100

_BASIC = struct.Struct("<BHBHBH")


class TargetState(enum.IntEnum):
    NONE = 0
    MOVING = 1
    STATIONARY = 2
    BOTH = 3


@dataclass(frozen=True)
class GateEnergies:
    """Engineering-mode detail: per-gate energy, gate 0 nearest."""

    moving: Tuple[int, ...]
    stationary: Tuple[int, ...]
    extra: bytes = b""  # vendor data after the gates (light level, OUT pin on newer firmware)


@dataclass(frozen=True)
class Report:
    state: TargetState
    moving_cm: int
    moving_energy: int
    stationary_cm: int
    stationary_energy: int
    detection_cm: int
    gates: Optional[GateEnergies] = None

    def nearest_cm(self) -> Optional[int]:
        """The distance of the nearest detected target, or None when there is none."""
        distances = []
        if self.state in (TargetState.MOVING, TargetState.BOTH):
            distances.append(self.moving_cm)
        if self.state in (TargetState.STATIONARY, TargetState.BOTH):
            distances.append(self.stationary_cm)
        return min(distances) if distances else None


@dataclass(frozen=True)
class Ack:
    """The module's answer to a command: ``command`` without the ACK flag."""

    command: int
    status: int
    data: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class Command:
    """A command frame, as the module (or its simulator) receives it."""

    command: int
    value: bytes


@dataclass(frozen=True)
class Malformed:
    """A frame with valid header and trailer whose content makes no sense."""

    reason: str


Frame = Union[Report, Ack, Command, Malformed]


def encode_command(command: int, value: bytes = b"") -> bytes:
    body = struct.pack("<H", command) + value
    return COMMAND_HEAD + struct.pack("<H", len(body)) + body + COMMAND_TAIL


def encode_ack(command: int, status: int = 0, data: bytes = b"") -> bytes:
    body = struct.pack("<HH", command | ACK_FLAG, status) + data
    return COMMAND_HEAD + struct.pack("<H", len(body)) + body + COMMAND_TAIL


def encode_report(report: Report) -> bytes:
    target = _BASIC.pack(
        report.state,
        report.moving_cm,
        report.moving_energy,
        report.stationary_cm,
        report.stationary_energy,
        report.detection_cm,
    )
    kind = TYPE_BASIC
    if report.gates is not None:
        kind = TYPE_ENGINEERING
        gates = report.gates
        target += bytes([len(gates.moving) - 1, len(gates.stationary) - 1])
        target += bytes(gates.moving) + bytes(gates.stationary) + gates.extra
    body = bytes([kind, TARGET_HEAD]) + target + bytes([TARGET_TAIL, TARGET_CHECK])
    return REPORT_HEAD + struct.pack("<H", len(body)) + body + REPORT_TAIL


def firmware_version(ack: Ack) -> str:
    """``V1.07.22091615`` from a read-firmware ACK (type 2, major 2, minor 4 bytes)."""
    if len(ack.data) < 8:
        raise ValueError("firmware ACK too short")
    _kind, major, minor = struct.unpack_from("<HHI", ack.data)
    return f"V{major >> 8}.{major & 0xFF:02x}.{minor:08x}"


def parse_report(body: bytes) -> Union[Report, Malformed]:
    """Decode a report frame's payload (between length and trailer)."""
    if len(body) < 2 + _BASIC.size + 2:
        return Malformed(f"report of {len(body)} bytes is too short")
    kind, head, target = body[0], body[1], body[2:-2]
    if head != TARGET_HEAD or body[-2] != TARGET_TAIL:
        return Malformed("report without its AA … 55 markers")
    if kind not in (TYPE_BASIC, TYPE_ENGINEERING):
        return Malformed(f"unknown report type 0x{kind:02x}")
    state, moving_cm, moving_energy, still_cm, still_energy, detection_cm = _BASIC.unpack_from(
        target
    )
    if state > TargetState.BOTH:
        return Malformed(f"unknown target state {state}")
    gates = None
    if kind == TYPE_ENGINEERING:
        rest = target[_BASIC.size :]
        if len(rest) < 2 or len(rest) < 2 + rest[0] + 1 + rest[1] + 1:
            return Malformed("engineering report without its gate energies")
        moving_n, still_n = rest[0] + 1, rest[1] + 1
        gates = GateEnergies(
            moving=tuple(rest[2 : 2 + moving_n]),
            stationary=tuple(rest[2 + moving_n : 2 + moving_n + still_n]),
            extra=bytes(rest[2 + moving_n + still_n :]),
        )
    return Report(
        TargetState(state), moving_cm, moving_energy, still_cm, still_energy, detection_cm, gates
    )


def parse_command_frame(body: bytes) -> Union[Ack, Command, Malformed]:
    """Decode a command frame's payload: an ACK if the ACK flag is set, else a command."""
    if len(body) < 2:
        return Malformed(f"command frame of {len(body)} bytes is too short")
    (word,) = struct.unpack_from("<H", body)
    if not word & ACK_FLAG:
        return Command(word, bytes(body[2:]))
    if len(body) < 4:
        return Malformed("ACK without its status")
    (status,) = struct.unpack_from("<H", body, 2)
    return Ack(word & ~ACK_FLAG, status, bytes(body[4:]))


class Decoder:
    """Feed bytes as they arrive; get complete frames back. Never raises on input."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0  #: bytes thrown away while looking for a frame
        # The last chunk that was exactly one whole report, and that report.
        self._repeat: Optional[Tuple[bytes, Frame]] = None

    def feed(self, data: bytes) -> List[Frame]:
        # The sensor repeats itself ten times a second while nothing changes: a chunk
        # equal to the last one that was exactly one whole report is that report again
        # (frames are immutable), without parsing it again.
        if not self._buffer and self._repeat is not None and data == self._repeat[0]:
            return [self._repeat[1]]
        whole = not self._buffer
        skipped = self.skipped
        self._buffer += data
        frames: List[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                break
            frames.append(frame)
        one_report = len(frames) == 1 and isinstance(frames[0], Report)
        if whole and one_report and not self._buffer and self.skipped == skipped:
            self._repeat = (bytes(data), frames[0])
        else:
            self._repeat = None
        return frames

    def _next(self) -> Optional[Frame]:
        buffer = self._buffer
        while self._at_head():
            if len(buffer) < 6:
                return None
            head = bytes(buffer[:4])
            (length,) = struct.unpack_from("<H", buffer, 4)
            end = 6 + length
            tail = REPORT_TAIL if head == REPORT_HEAD else COMMAND_TAIL
            if length > MAX_PAYLOAD:
                self._skip(1)  # a header inside noise: look again one byte on
                continue
            if len(buffer) < end + 4:
                return None
            if buffer[end : end + 4] != tail:
                self._skip(1)
                continue
            body = bytes(buffer[6:end])
            del buffer[: end + 4]
            return parse_report(body) if head == REPORT_HEAD else parse_command_frame(body)
        return None

    def _at_head(self) -> bool:
        """Drop bytes up to the first header; False when there is none yet."""
        buffer = self._buffer
        found = [i for i in (buffer.find(REPORT_HEAD), buffer.find(COMMAND_HEAD)) if i >= 0]
        if found:
            self._skip(min(found))
            return True
        # Keep a tail that may be the start of a header split across reads.
        self._skip(len(buffer) - 3)
        return False

    def _skip(self, count: int) -> None:
        if count > 0:
            self.skipped += count
            del self._buffer[:count]
