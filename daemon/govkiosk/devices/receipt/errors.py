"""The receipt printer family's exceptions: the link, timeouts, encoding and status replies."""

from __future__ import annotations

from ...errors import GovkioskError


class ReceiptError(GovkioskError):
    """The receipt printer failed; the message says how, fit for ops."""


class ReceiptLinkError(ReceiptError):
    """The connection to the printer was lost."""


class ReceiptTimeoutError(ReceiptError):
    """The printer did not answer in time."""


class EncodeError(GovkioskError, ValueError):
    """A receipt holds something the printer cannot be sent."""


class StatusParseError(GovkioskError, ValueError):
    """A byte that is not a status reply."""
