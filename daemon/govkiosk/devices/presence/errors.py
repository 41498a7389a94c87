"""The presence sensor family's exceptions."""

from __future__ import annotations

from ...errors import GovkioskError


class PresenceError(GovkioskError):
    """The presence sensor cannot be used."""
