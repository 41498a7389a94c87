"""The Megatec/Q1 serial protocol, pure: bytes in, frozen dataclasses out, no I/O.

2400 baud 8N1, commands end with ``\\r``. ``Q1`` is answered with a fixed-column line::

    (226.0 195.0 226.0 014 49.0 27.5 30.0 00001000\\r
     ^in   ^fault ^out ^ld ^Hz  ^batt ^°C ^b7..b0

Replies start with ``(`` (Q1) or ``#`` (F, I). Many UPSes echo a command they do not
know, some answer nothing, and a serial line picks up noise: the driver cuts the
stream into lines and :func:`reply_in` keeps only what follows the last reply marker,
so echoes and garbage never reach the parsers.

Q1 has no charge or runtime; :func:`to_state` estimates them (§6.1 only needs "enough
to shut down in time"): charge linearly between a configured battery voltage low and
high, runtime as the configured full-load runtime scaled by charge and load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from .errors import UpsProtocolError
from .state import UpsState

CR = b"\r"
Q1_LENGTH = 46  #: without the ``\r``
#: A line longer than this without ``\r`` is noise; it is dropped.
MAX_LINE = 128

# Commands (§ "Other commands" in the Megatec description).
QUERY = b"Q1\r"
RATING = b"F\r"
IDENTITY = b"I\r"
SELF_TEST = b"T\r"
CANCEL_TEST = b"CT\r"

# Status bits, b7 first as sent.
UTILITY_FAIL = 7
BATTERY_LOW = 6
BYPASS = 5
UPS_FAILED = 4
STANDBY = 3
TEST_RUNNING = 2
SHUTDOWN_ACTIVE = 1
BEEPER_ON = 0

# (start, end) 0-based slices of the Q1 line, and where its separating spaces are.
_Q1_FIELDS = ((1, 6), (7, 12), (13, 18), (19, 22), (23, 27), (28, 32), (33, 37), (38, 46))
_Q1_SPACES = (6, 12, 18, 22, 27, 32, 37)

#: Status bit → NUT-style token, so both ways to a UPS read the same.
_TOKENS = ((BATTERY_LOW, "LB"), (BYPASS, "BYPASS"), (UPS_FAILED, "ALARM"))
_TOKENS_LATE = ((TEST_RUNNING, "CAL"), (SHUTDOWN_ACTIVE, "FSD"))


def _number(field: bytes, what: str) -> Optional[float]:
    """A numeric column; ``None`` where a model prints dashes for "not measured"."""
    text = field.decode("ascii", errors="replace").strip()
    if not text.strip("-."):
        return None
    try:
        return float(text)
    except ValueError:
        raise UpsProtocolError(f"Q1: {what} is not a number: {text!r}") from None


@dataclass(frozen=True)
class Q1Status:
    """The reply to ``Q1``."""

    input_voltage: Optional[float]
    input_fault_voltage: Optional[float]
    output_voltage: Optional[float]
    load: Optional[float]  #: % of rated
    frequency: Optional[float]
    battery_voltage: Optional[float]
    temperature: Optional[float]
    bits: int  #: b7..b0

    def bit(self, number: int) -> bool:
        return bool(self.bits >> number & 1)

    @property
    def on_battery(self) -> bool:
        return self.bit(UTILITY_FAIL)

    @property
    def battery_low(self) -> bool:
        return self.bit(BATTERY_LOW)

    @property
    def test_running(self) -> bool:
        return self.bit(TEST_RUNNING)

    def tokens(self) -> Tuple[str, ...]:
        """The status as NUT tokens (``OB LB`` …)."""
        tokens = ["OB" if self.on_battery else "OL"]
        tokens += [t for b, t in _TOKENS if self.bit(b)]
        tokens += [t for b, t in _TOKENS_LATE if self.bit(b)]
        return tuple(tokens)

    def to_bytes(self) -> bytes:
        """The reply line as a UPS sends it (the simulator's end)."""

        columns = (
            _column(self.input_voltage, 5, 1),
            _column(self.input_fault_voltage, 5, 1),
            _column(self.output_voltage, 5, 1),
            _column(self.load, 3, 0),
            _column(self.frequency, 4, 1),
            # Per-cell models report "2.27", whole-pack ones "27.5": same width.
            _column(self.battery_voltage, 4, 2 if (self.battery_voltage or 0) < 10 else 1),
            _column(self.temperature, 4, 1),
            f"{self.bits:08b}",
        )
        return ("(" + " ".join(columns) + "\r").encode("ascii")


def _column(value: Optional[float], width: int, decimals: int) -> str:
    if value is None:
        return "-" * width
    return f"{value:0{width}.{decimals}f}"[:width]


def parse_q1(line: bytes) -> Q1Status:
    """A Q1 reply (with or without its ``\\r``), read by column."""
    line = line.rstrip(CR)
    if len(line) != Q1_LENGTH or line[:1] != b"(":
        raise UpsProtocolError(f"Q1: expected {Q1_LENGTH} bytes starting '(', got {line!r}")
    if any(line[i : i + 1] != b" " for i in _Q1_SPACES):
        raise UpsProtocolError(f"Q1: columns out of place: {line!r}")
    fields = [line[a:b] for a, b in _Q1_FIELDS]
    bits = fields[7]
    if bits.strip(b"01"):
        raise UpsProtocolError(f"Q1: status is not 8 bits: {bits!r}")
    return Q1Status(
        input_voltage=_number(fields[0], "input voltage"),
        input_fault_voltage=_number(fields[1], "input fault voltage"),
        output_voltage=_number(fields[2], "output voltage"),
        load=_number(fields[3], "load"),
        frequency=_number(fields[4], "frequency"),
        battery_voltage=_number(fields[5], "battery voltage"),
        temperature=_number(fields[6], "temperature"),
        bits=int(bits, 2),
    )


@dataclass(frozen=True)
class Rating:
    """The reply to ``F``: ``#220.0 000 024.0 50.0``."""

    voltage: Optional[float]
    current: Optional[float]
    battery_voltage: Optional[float]
    frequency: Optional[float]


def parse_rating(line: bytes) -> Rating:
    words = line.rstrip(CR).split()
    if not line.startswith(b"#") or len(words) != 4:
        raise UpsProtocolError(f"F: expected '#' and four numbers, got {line!r}")
    words[0] = words[0][1:]
    names = ("voltage", "current", "battery voltage", "frequency")
    return Rating(*(_number(w, f"rating {n}") for w, n in zip(words, names)))


@dataclass(frozen=True)
class Identity:
    """The reply to ``I``: ``#`` + maker (15) + model (10) + firmware (10)."""

    maker: str
    model: str
    firmware: str


def parse_identity(line: bytes) -> Identity:
    """Both layouts seen: packed (36 bytes) and with a space between fields (38 bytes)."""
    line = line.rstrip(CR)
    if line[:1] != b"#" or len(line) not in (36, 38):
        raise UpsProtocolError(f"I: expected '#' and 35 or 37 characters, got {line!r}")
    gap = 1 if len(line) == 38 else 0
    text = line.decode("ascii", errors="replace")
    cuts = (1, 16, 16 + gap, 26 + gap, 26 + 2 * gap, 36 + 2 * gap)
    return Identity(*(text[cuts[i] : cuts[i + 1]].strip() for i in (0, 2, 4)))


def reply_in(line: bytes) -> Optional[bytes]:
    """The reply in ``line``, from its last ``(`` or ``#`` on; ``None`` for echo or noise."""
    start = max(line.rfind(b"("), line.rfind(b"#"))
    return line[start:] if start >= 0 else None


@dataclass(frozen=True)
class BatteryModel:
    """What Q1 does not tell: the battery's voltage range and runtime at full load."""

    voltage_low: float
    voltage_high: float
    full_load_runtime: float  #: seconds at 100 % load from a full battery
    #: Below this load the estimate stops growing: idle UPSes do not run for ever.
    min_load: float = 10.0

    def charge(self, voltage: Optional[float]) -> Optional[float]:
        if voltage is None:
            return None
        fraction = (voltage - self.voltage_low) / (self.voltage_high - self.voltage_low)
        return round(100.0 * min(1.0, max(0.0, fraction)), 1)

    def runtime(self, charge: Optional[float], load: Optional[float]) -> Optional[float]:
        if charge is None or load is None:
            return None
        return round(self.full_load_runtime * charge / max(load, self.min_load), 1)


def to_state(status: Q1Status, battery: BatteryModel, source: str) -> UpsState:
    charge = battery.charge(status.battery_voltage)
    return UpsState(
        status=status.tokens(),
        charge=charge,
        runtime=battery.runtime(charge, status.load),
        load=status.load,
        input_voltage=status.input_voltage,
        output_voltage=status.output_voltage,
        battery_voltage=status.battery_voltage,
        temperature=status.temperature,
        source=source,
    )
