"""From a serial scanner's line to text.

Scanners send UTF-8 when configured well, and GB18030 (the national encoding, also
what many scanners send for Chinese in their default setting) otherwise. Anything that
is neither is refused with a reason that does not repeat the bytes.
"""

from __future__ import annotations

from .errors import UndecodableScanError


def decode_code(raw: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UndecodableScanError(f"a {len(raw)}-byte code is neither UTF-8 nor GB18030")
