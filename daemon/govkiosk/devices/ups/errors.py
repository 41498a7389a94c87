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


class NutServerError(UpsError):
    """``upsd`` answered ``ERR <token>``."""

    def __init__(self, token: str, detail: str = "") -> None:
        self.token = token
        super().__init__(f"upsd: {token}" + (f" ({detail})" if detail else ""))


class NutAccessError(NutServerError):
    """The account is missing, wrong, or not allowed to do this (see upsd.users)."""


class NutUnknownUpsError(NutServerError):
    """No UPS of that name on this upsd (see ups.conf)."""


class NutStaleError(NutServerError):
    """upsd has no current data from the UPS's driver."""


class NutUnsupportedError(NutServerError):
    """The UPS or upsd does not support this variable, command or feature."""
