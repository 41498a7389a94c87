"""Line-based presence sensors: one token per line, such as ``1``/``0`` or ``PRESENT``/``ABSENT``.

Many PIR and radar modules with a small microcontroller in front print their state as
text. Which words they use varies, so the tokens are configured; anything else on the
line is an :class:`UnknownToken`, reported but not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Union

from ..lines import LineFramer, LineTooLong

#: A token line is short; anything longer is noise.
MAX_LINE = 64


@dataclass(frozen=True)
class UnknownToken:
    line: bytes


Reading = Union[bool, UnknownToken, LineTooLong]


class TokenDecoder:
    """Bytes in; ``True`` (present), ``False`` (absent) or what went wrong, per line."""

    def __init__(self, present: Iterable[str], absent: Iterable[str]) -> None:
        self._meaning = {token.strip().encode(): False for token in absent}
        self._meaning.update({token.strip().encode(): True for token in present})
        self._framer = LineFramer("any", MAX_LINE)

    def feed(self, data: bytes) -> List[Reading]:
        readings: List[Reading] = []
        for line in self._framer.feed(data):
            if isinstance(line, LineTooLong):
                readings.append(line)
                continue
            token = line.strip()
            if not token:
                continue
            meaning = self._meaning.get(token)
            readings.append(UnknownToken(token) if meaning is None else meaning)
        return readings
