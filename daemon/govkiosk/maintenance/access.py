"""The login gate: PIN checks, lockout after repeated failures, expiring login tokens.

Pure state with the clock passed in, so the rules can be tested without waiting.
"""

from __future__ import annotations

import secrets
from typing import Callable, Dict

from ..errors import GovkioskError
from .settings import MaintenanceSettings

TOKEN_BYTES = 16


class MaintenanceError(GovkioskError):
    """The root of the maintenance access errors."""


class MaintenanceDisabledError(MaintenanceError):
    """No PIN is configured: the maintenance screen stays closed."""


class WrongPinError(MaintenanceError):
    """The PIN does not match."""


class LockedOutError(MaintenanceError):
    """Too many wrong PINs: logins are refused for a while."""


class NotLoggedInError(MaintenanceError):
    """The token is unknown or has expired."""


class LoginGate:
    def __init__(
        self,
        settings: Callable[[], MaintenanceSettings],
        verify: Callable[[str, str], bool],
    ) -> None:
        self._settings = settings
        self._verify = verify
        self._failures = 0
        self._locked_until = 0.0
        self._tokens: Dict[str, float] = {}

    def check_open(self, now: float) -> None:
        """Raise unless a PIN may be tried now (before the slow hash is computed)."""
        if not self._settings().pin_hash:
            raise MaintenanceDisabledError("maintenance login is disabled: no PIN is configured")
        if now < self._locked_until:
            raise LockedOutError(
                f"too many wrong PINs; try again in {self._locked_until - now:.0f} s"
            )

    def verify(self, pin: str) -> bool:
        """Whether ``pin`` matches the configured hash: slow, so the caller runs it off the loop."""
        return self._verify(pin, self._settings().pin_hash)

    def record(self, matched: bool, now: float) -> str:
        """A new token for a match; a mismatch counts towards the lockout and raises."""
        self.check_open(now)
        settings = self._settings()
        if not matched:
            self._failures += 1
            if self._failures >= settings.max_failures:
                self._failures = 0
                self._locked_until = now + settings.lockout_seconds
            raise WrongPinError("wrong PIN")
        self._failures = 0
        self._expire(now)
        token = secrets.token_hex(TOKEN_BYTES)
        self._tokens[token] = now + settings.login_minutes * 60.0
        return token

    def seconds_left(self, token: str, now: float) -> float:
        """The login's remaining time; :class:`NotLoggedInError` if it is not valid."""
        self._expire(now)
        if token not in self._tokens:
            raise NotLoggedInError("not logged in, or the login has expired")
        return self._tokens[token] - now

    def logout(self, token: str) -> None:
        self._tokens.pop(token, None)

    def _expire(self, now: float) -> None:
        for token in [t for t, until in self._tokens.items() if until <= now]:
            del self._tokens[token]
