"""The QR scanner family's exceptions: the link, the input device, undecodable scans."""

from __future__ import annotations

from ...errors import GovkioskError


class ScannerError(GovkioskError):
    """The scanner cannot be used."""


class InputDeviceError(GovkioskError):
    """The input device cannot be used as a scanner."""


class UndecodableScanError(GovkioskError):
    """The scanned bytes are neither UTF-8 nor GB18030."""
