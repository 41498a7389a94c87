"""What reading, checking or rendering an OFD document can refuse.

Every refusal derives from :class:`OfdError`, so a caller handing the kiosk an untrusted
document catches one type. Messages name files inside the package and never its content.
"""

from __future__ import annotations

from ..errors import GovkioskError


class OfdError(GovkioskError):
    """The document cannot be read, checked or rendered."""


class OfdPackageError(OfdError):
    """The zip container is unreadable or breaks a limit (size, ratio, entries, names)."""


class OfdFormatError(OfdError):
    """A part of the document is missing, is not well-formed XML or breaks the standard."""


class ProtectedFileError(OfdError):
    """A signature's protected files do not match the package.

    ``path`` is the package path concerned and ``reason`` one of ``"changed"``,
    ``"removed"``, ``"added"`` (a file no signature covers) or ``"method"`` (the digest
    method is unknown).
    """

    def __init__(self, message: str, path: str, reason: str) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class RenderError(OfdError):
    """A page cannot be rendered (no such page, a size out of bounds, no usable font)."""
