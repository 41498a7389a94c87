"""Configuration fields that carry their own expectation.

Kept apart from :mod:`govkiosk.config` so that each subsystem can define its section
with these helpers in its own package while ``config.py`` imports that section: the
two modules would otherwise import each other.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import field
from typing import Any, Callable


def setting(default: Any, *, expect: str, check: Callable[[Any], bool]) -> Any:
    """A dataclass field whose value must pass ``check``; ``expect`` says what it should be."""
    return field(default=default, metadata={"expect": expect, "check": check})


def required(*, expect: str, check: Callable[[Any], bool]) -> Any:
    """A field the files must set."""
    return field(metadata={"expect": expect, "check": check})


def parsed(default: Any, *, parse: Callable[[Any], Any]) -> Any:
    """A field whose raw value ``parse`` turns into its value (a rules file into rules).

    ``parse`` raises ``ValueError`` with the reason (for a file: its line), which the
    configuration reports under the field's key.
    """
    return field(default=default, metadata={"parse": parse})


def positive(value: float) -> bool:
    return value > 0


def seconds(default: float) -> Any:
    """A duration setting: a number of seconds > 0."""
    return setting(default, expect="a number of seconds > 0", check=positive)


def matches(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


#: "system", "session" or an explicit D-Bus address.
def key_id_field() -> Any:
    """A required key id (names a pinned signing key)."""
    return required(
        expect="a key id of letters, digits, '.', '_' or '-'",
        check=matches(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
    )


def ed25519_key_field() -> Any:
    """A required base64 Ed25519 public key."""
    return required(expect="a base64 Ed25519 public key (32 bytes)", check=_ed25519_public)


def _ed25519_public(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


BUS_ADDRESS = re.compile(r"system|session|[a-z]+:.+")
