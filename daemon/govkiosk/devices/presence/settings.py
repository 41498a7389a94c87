"""The ``[presence]`` configuration section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Tuple

from ...fields import positive, setting


def _non_negative(value: float) -> bool:
    return value >= 0


def _tokens(value: Tuple[str, ...]) -> bool:
    return len(value) > 0 and all(token.strip() for token in value)


SECONDS = "a number of seconds >= 0"
TOKENS = "a list of non-empty strings"


@dataclass(frozen=True)
class PresenceSettings:
    """How presence readings become arrivals and departures."""

    #: ``ld2410``: HLK-LD2410 radar frames; ``lines``: one token per line.
    kind: Literal["ld2410", "lines"] = "ld2410"
    #: Presence must hold this long before PersonArrived (a passer-by does not wake the UI).
    arrive_after: float = setting(0.5, expect=SECONDS, check=_non_negative)
    #: Absence must hold this long before PersonLeft (a citizen bending down is still there).
    leave_after: float = setting(5.0, expect=SECONDS, check=_non_negative)
    #: Radar targets farther than this are people walking past, not users (0: no limit).
    max_distance_cm: int = setting(150, expect="a distance in cm >= 0", check=_non_negative)
    #: Lines that mean "present" for the ``lines`` kind (compared after stripping).
    present_tokens: Tuple[str, ...] = setting(("1", "PRESENT"), expect=TOKENS, check=_tokens)
    #: Lines that mean "absent" for the ``lines`` kind.
    absent_tokens: Tuple[str, ...] = setting(("0", "ABSENT"), expect=TOKENS, check=_tokens)
    #: The sensor failed if it says nothing this long (0: it reports only on change).
    silence_timeout: float = setting(3.0, expect=SECONDS, check=_non_negative)
    #: Read the port at most this often: the readings that came meanwhile are taken
    #: together (fewer wake-ups while nobody is there); an arrival or departure is
    #: noticed up to this much later. 0: each reading as it comes.
    read_every: float = setting(0.5, expect=SECONDS, check=_non_negative)
    #: Serial speed; the LD2410 ships at 256000.
    baudrate: int = setting(256000, expect="a baud rate > 0", check=positive)
