"""The UPS family's exception tree."""

from __future__ import annotations

from ...errors import GovkioskError


class UpsError(GovkioskError):
    """Something went wrong talking to a UPS."""


class UpsLinkError(UpsError):
    """The UPS (or upsd) cannot be reached, or the connection dropped."""


class UpsTimeoutError(UpsLinkError):
    """The UPS did not answer in time."""


class UpsProtocolError(UpsError):
    """A reply that does not follow the protocol."""


class UpsSelfTestUnsupportedError(UpsError):
    """The UPS, or the way the kiosk reaches it, cannot run a self-test."""
