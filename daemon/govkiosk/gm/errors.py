"""The national algorithms' errors: malformed keys, certificates and encodings."""

from __future__ import annotations

from ..errors import GovkioskError


class GmError(GovkioskError):
    """A key, signature or certificate cannot be read (not: a signature that does not verify)."""

    code = "gm.error"
