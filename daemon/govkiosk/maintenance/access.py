"""The login gate: PIN checks, lockout after repeated failures, expiring login tokens.

Pure state with the clock (the wall clock: a lockout outlives a restart) passed in, so the
rules can be tested without waiting. The wall clock may be stepped (NTP, an engineer): a
login token also ends by the monotonic clock, so setting the clock back never lengthens a
login, and a lockout never lasts longer than its own length from now. Each lockout in a row
lasts twice the one before (up to :data:`LONGEST_LOCKOUT`) until a right PIN;
:meth:`LoginGate.lockout` is what the daemon keeps on disk, so a restart neither clears a
lockout nor its count.
"""

from __future__ import annotations

import datetime
import secrets
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ..errors import GovkioskError
from .expiry import PinRecord, days_left, from_settings, in_force
from .settings import MaintenanceSettings

TOKEN_BYTES = 16
#: However many lockouts in a row, one lasts at most a day.
LONGEST_LOCKOUT = 86400.0


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


class PinExpiredError(MaintenanceError):
    """The PIN is right but older than ``pin_max_age_days``: it may only be changed."""


class InvalidPinError(MaintenanceError):
    """A new PIN that is not 6 to 12 digits."""


class PinReusedError(MaintenanceError):
    """The new PIN is the one in force: a change must change it."""


class LoginGate:
    def __init__(
        self,
        settings: Callable[[], MaintenanceSettings],
        verify: Callable[[str, str], bool],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._verify = verify
        self._monotonic = monotonic
        self._failures = 0
        self._lockouts = 0
        self._locked_until = 0.0
        #: token → (ends by the wall clock, ends by the monotonic clock)
        self._tokens: Dict[str, Tuple[float, float]] = {}
        #: The PIN changed on the kiosk (``expiry.PIN_FILE``), if any.
        self.kept: Optional[PinRecord] = None

    def pin(self) -> PinRecord:
        """The PIN in force: the configured one or the one changed on the kiosk, the newer."""
        return in_force(from_settings(self._settings()), self.kept)

    def days_left(self, now: float) -> Optional[int]:
        """Days until the PIN expires (0 or less: expired); ``None``: no expiry applies."""
        today = datetime.date.fromtimestamp(now)
        return days_left(self.pin(), self._settings().pin_max_age_days, today)

    def warn_days(self) -> int:
        """Days before the PIN expires from which it is announced (``pin_warn_days``)."""
        return self._settings().pin_warn_days

    def lockout(self) -> Dict[str, float]:
        """The lockout state, to keep across restarts (no PIN, no token)."""
        return {
            "failures": self._failures,
            "lockouts": self._lockouts,
            "locked_until": self._locked_until,
        }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Take a kept lockout state back; anything unreadable counts as none."""
        try:
            self._failures = max(0, int(saved.get("failures", 0)))
            self._lockouts = max(0, int(saved.get("lockouts", 0)))
            self._locked_until = float(saved.get("locked_until", 0.0))
        except (TypeError, ValueError):
            self._failures, self._lockouts, self._locked_until = 0, 0, 0.0

    def check_open(self, now: float) -> None:
        """Raise unless a PIN may be tried now (before the slow hash is computed)."""
        if not self.pin().pin_hash:
            raise MaintenanceDisabledError("maintenance login is disabled: no PIN is configured")
        longest = self._lockout_length()
        if self._locked_until - now > longest:  # the clock was set back: from now on
            self._locked_until = now + longest
        if now < self._locked_until:
            raise LockedOutError(
                f"too many wrong PINs; try again in {self._locked_until - now:.0f} s"
            )

    def verify(self, pin: str) -> bool:
        """Whether ``pin`` matches the PIN in force: slow, so the caller runs it off the loop."""
        return self._verify(pin, self.pin().pin_hash)

    def record(self, matched: bool, now: float) -> str:
        """A new token for a match; a mismatch counts towards the lockout and raises."""
        self._matched_or_raise(matched, now)
        left = self.days_left(now)
        if left is not None and left <= 0:
            raise PinExpiredError(
                "the PIN has expired: an engineer sets a new one (govkioskctl pin set)"
            )
        self._expire(now)
        token = secrets.token_hex(TOKEN_BYTES)
        lasts = self._settings().login_minutes * 60.0
        self._tokens[token] = (now + lasts, self._monotonic() + lasts)
        return token

    def change(self, matched: bool, reused: bool, new_hash: str, now: float) -> PinRecord:
        """Put ``new_hash`` in force from today when the old PIN ``matched`` (expired or not).

        ``reused``: the new PIN is the old one, which is refused. A mismatch counts towards
        the lockout as a login's does. The caller keeps the returned record (``expiry.save``).
        """
        self._matched_or_raise(matched, now)
        if reused:
            raise PinReusedError("the new PIN must differ from the old one")
        self.kept = PinRecord(new_hash, datetime.date.fromtimestamp(now))
        self._tokens.clear()  # logins made with the old PIN end with it
        return self.kept

    def _matched_or_raise(self, matched: bool, now: float) -> None:
        self.check_open(now)
        settings = self._settings()
        if not matched:
            self._failures += 1
            if self._failures >= settings.max_failures:
                self._failures = 0
                self._lockouts += 1
                self._locked_until = now + self._lockout_length()
            raise WrongPinError("wrong PIN")
        self._failures = 0
        self._lockouts = 0

    def seconds_left(self, token: str, now: float) -> float:
        """The login's remaining time; :class:`NotLoggedInError` if it is not valid."""
        self._expire(now)
        if token not in self._tokens:
            raise NotLoggedInError("not logged in, or the login has expired")
        wall, steady = self._tokens[token]
        return min(wall - now, steady - self._monotonic())

    def logout(self, token: str) -> None:
        self._tokens.pop(token, None)

    def _lockout_length(self) -> float:
        """How long the latest lockout in a row lasts (0 when there is none)."""
        if self._lockouts <= 0:
            return 0.0
        longer = float(self._settings().lockout_seconds) * float(2 ** min(self._lockouts - 1, 16))
        return min(longer, LONGEST_LOCKOUT)

    def _expire(self, now: float) -> None:
        steady = self._monotonic()
        for token in [t for t, (w, m) in self._tokens.items() if w <= now or m <= steady]:
            del self._tokens[token]
