"""The operator PIN, stored only as a salted PBKDF2-SHA256 hash.

A kiosk's PIN is short (digits on a touch keypad), so the hash is slow on purpose and
the login gate (:mod:`.access`) locks out after a few wrong tries; the comparison is
constant-time. ``python -m govkiosk.maintenance.pin`` reads a PIN on stdin and prints
the line to put in ``[maintenance] pin_hash`` (with ``--toml``: that line and ``pin_set``).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import os
import re
import sys
from typing import List, Optional

SCHEME = "pbkdf2_sha256"
ITERATIONS = 200_000
SALT_BYTES = 16
#: Digits only: the maintenance keypad has no letters (Chinese input methods are weak in Kivy).
#: Six digits at least: with the escalating lockout, a guesser needs years, not a week.
PIN_PATTERN = re.compile(r"[0-9]{6,12}")
_HASH_PATTERN = re.compile(rf"{SCHEME}\$([1-9][0-9]*)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(pin: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)


def hash_pin(pin: str, *, iterations: int = ITERATIONS, salt: Optional[bytes] = None) -> str:
    if PIN_PATTERN.fullmatch(pin) is None:
        raise ValueError("a PIN is 6 to 12 digits")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(_derive(pin, salt, iterations))}"


def is_pin_hash(encoded: str) -> bool:
    return _HASH_PATTERN.fullmatch(encoded) is not None


def verify_pin(pin: str, encoded: str) -> bool:
    """Whether ``pin`` matches ``encoded``; slow (PBKDF2): call it off the event loop."""
    match = _HASH_PATTERN.fullmatch(encoded)
    if match is None:
        return False
    iterations, salt, expected = match.groups()
    try:
        salt_bytes, expected_bytes = base64.b64decode(salt), base64.b64decode(expected)
    except binascii.Error:  # a hand-edited configuration: no PIN matches it
        return False
    return hmac.compare_digest(_derive(pin, salt_bytes, int(iterations)), expected_bytes)


def main(argv: Optional[List[str]] = None) -> int:
    """The hash of the PIN on stdin; with ``--toml``, the two ``[maintenance]`` lines
    ``pin_hash`` and ``pin_set`` (today) to paste into the configuration."""
    # The PIN comes on stdin, never on the command line (ps shows arguments).
    argv = sys.argv[1:] if argv is None else argv
    pin = sys.stdin.readline().strip()
    try:
        encoded = hash_pin(pin)
    except ValueError as err:
        print(f"pin: {err}", file=sys.stderr)
        return 2
    if "--toml" in argv:
        print(f'pin_hash = "{encoded}"\npin_set = "{datetime.date.today().isoformat()}"')
    else:
        print(encoded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
