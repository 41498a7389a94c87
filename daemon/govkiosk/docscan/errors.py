"""The document camera's exceptions. Messages never describe a page's content."""

from __future__ import annotations

from ..errors import GovkioskError


class DocScanError(GovkioskError):
    """Something went wrong turning a camera frame into a scan."""


class FrameError(DocScanError):
    """The input is not an image this package can read (type, shape, dtype, size)."""


class QuadError(DocScanError):
    """Four points that are not a usable page outline (not convex, degenerate, not finite)."""


class FormatError(DocScanError):
    """An output format, paper size or option this package does not know."""


class EncodeError(DocScanError):
    """The image could not be encoded (OpenCV refused it)."""
