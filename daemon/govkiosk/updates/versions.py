"""Version numbers compared as dpkg compares them (``dpkg --compare-versions``), pure.

``0.1.0``, ``0.1.0-2``, ``1.2.3~rc1``: the upstream version and the revision (after the
last ``-``) are compared in turn; each is read as alternating runs of non-digits (compared
character by character: ``~`` before the end, the end before letters, letters before
other characters) and digits (compared as numbers). So ``1.0~rc1`` < ``1.0`` < ``1.0a`` <
``1.0.1``. Epochs (``1:``) are not used by govkiosk and :data:`VERSION` refuses them. RPM
orders the versions govkiosk uses the same way.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Tuple

VERSION = re.compile(r"[0-9][A-Za-z0-9.+~-]{0,63}")


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if not char:
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    """dpkg's ``verrevcmp``."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _split(version: str) -> Tuple[str, str]:
    upstream, dash, revision = version.rpartition("-")
    return (upstream, revision) if dash else (version, "")


def compare(a: str, b: str) -> int:
    """< 0, 0, > 0 as ``a`` is older than, the same as, or newer than ``b``."""
    (ua, ra), (ub, rb) = _split(a), _split(b)
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def key(version: str) -> Any:
    """A sort key: ``key(a) < key(b)`` when ``a`` is older than ``b``."""
    return functools.cmp_to_key(compare)(version)


def newer(a: str, b: str) -> bool:
    """Whether ``a`` is a later version than ``b``."""
    return compare(a, b) > 0
