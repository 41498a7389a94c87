"""Version numbers compared as Debian does for the forms govkiosk uses (pure).

``0.1.0``, ``0.1.0-2``, ``1.2.3~rc1``: runs of digits compare as numbers, other runs as
text, ``~`` sorts before everything (even the end), so ``1.0~rc1`` < ``1.0`` < ``1.0.1``.
An epoch (``1:``) is not used by govkiosk and is refused by :data:`VERSION`.
"""

from __future__ import annotations

import re
from typing import List, Tuple, Union

VERSION = re.compile(r"[0-9][A-Za-z0-9.+~-]{0,63}")
_PARTS = re.compile(r"[0-9]+|[A-Za-z]+|~|[.+-]")

Part = Tuple[int, Union[int, str]]


def key(version: str) -> Tuple[Part, ...]:
    """A sort key: ``key(a) < key(b)`` when ``a`` is older than ``b``."""
    parts: List[Part] = []
    for token in _PARTS.findall(version):
        if token == "~":
            parts.append((-1, 0))
        elif token.isdigit():
            parts.append((2, int(token)))
        elif token in ".+-":
            parts.append((1, token))
        else:
            parts.append((3, token))
    # The end sorts after "~" and before any further part.
    parts.append((0, 0))
    return tuple(parts)


def newer(a: str, b: str) -> bool:
    """Whether ``a`` is a later version than ``b``."""
    return key(a) > key(b)
