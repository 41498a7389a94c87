"""Maintenance windows: an engineer's USB stick on one named port, for a limited time.

Only an operator role from the configuration, proving itself with that role's token,
may open or close a window; every opening and closing is audited. Windows live in
SQLite so a restart does not extend or forget them. A window also ends by the
monotonic clock: setting the wall clock back never keeps a port open longer (after a
restart, for at most ``max_minutes`` from then). The same operation serves D-Bus
now and remote ops later.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import time
from typing import Callable, Dict, FrozenSet, Optional, Tuple

from ...errors import GovkioskError
from ...store import Store
from .audit import AuditLog
from .settings import operator_tokens


class MaintenanceError(GovkioskError):
    """A maintenance window cannot be opened or closed."""


class MaintenanceDeniedError(MaintenanceError):
    """The role is not an operator role, or its token is wrong."""


class TokenExpiredError(MaintenanceDeniedError):
    """The role's token is older than ``token_max_age_days``: the site sets a new one."""


class MaintenanceWindows:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        operators: Tuple[str, ...],
        max_minutes: int,
        clock: Callable[[], float] = time.time,
        *,
        token_max_age_days: int = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._audit = audit
        self._tokens = operator_tokens(operators)
        self._token_max_age_days = token_max_age_days
        self._max_minutes = max_minutes
        self._clock = clock
        self._windows: Dict[str, Tuple[float, str]] = {}  # port → (expires_at, role)
        self._monotonic = monotonic
        self._steady: Dict[str, float] = {}  # port → when it closes by the monotonic clock
        self.eligible: FrozenSet[str] = frozenset()  # ports with a maintenance rule

    async def load(self) -> None:
        rows = await self._store.fetchall("SELECT port, expires_at, role FROM usbseal_window")
        self._windows = {port: (expires, role) for port, expires, role in rows}
        now, steady, longest = self._clock(), self._monotonic(), self._max_minutes * 60.0
        self._steady = {
            port: steady + min(max(0.0, expires - now), longest)
            for port, (expires, _r) in self._windows.items()
        }

    def _left(self, port: str) -> float:
        """Seconds until ``port``'s window closes, by whichever clock says sooner."""
        expires, _role = self._windows[port]
        steady = self._steady.get(port, float("inf"))
        return min(expires - self._clock(), steady - self._monotonic())

    def open_ports(self) -> FrozenSet[str]:
        return frozenset(port for port in self._windows if self._left(port) > 0)

    def windows(self) -> Dict[str, Tuple[float, str]]:
        return dict(self._windows)

    def seconds_left(self) -> Optional[float]:
        """Until the next window closes, or ``None`` when none is open."""
        due = min((self._left(port) for port in self._windows), default=None)
        return None if due is None else max(0.0, due)

    async def open(self, port: str, minutes: int, role: str, token: str) -> float:
        """Open (or extend) the window on ``port``; return when it closes (Unix time)."""
        self._authorise(role, token)
        if port not in self.eligible:
            raise MaintenanceError(f"port {port}: no maintenance rule names this port")
        if not 0 < minutes <= self._max_minutes:
            raise MaintenanceError(f"minutes: expected 1 to {self._max_minutes}, got {minutes}")
        now = self._clock()
        expires = now + minutes * 60.0
        await self._store.execute(
            "INSERT OR REPLACE INTO usbseal_window VALUES (?, ?, ?, ?)", (port, now, expires, role)
        )
        self._windows[port] = (expires, role)
        self._steady[port] = self._monotonic() + minutes * 60.0
        self._audit.record(port, "", "", "window-opened", f"role {role}, {minutes} min")
        return expires

    async def close(self, port: str, role: str, token: str) -> None:
        self._authorise(role, token)
        await self._forget(port, f"role {role}")

    async def expire(self) -> FrozenSet[str]:
        """Close windows whose time is up; return their ports."""
        due = frozenset(p for p in self._windows if self._left(p) <= 0)
        for port in due:
            await self._forget(port, "expired")
        return due

    async def _forget(self, port: str, why: str) -> None:
        self._steady.pop(port, None)
        if self._windows.pop(port, None) is None:
            raise MaintenanceError(f"port {port}: no maintenance window is open")
        await self._store.execute("DELETE FROM usbseal_window WHERE port = ?", (port,))
        self._audit.record(port, "", "", "window-closed", why)

    def _authorise(self, role: str, token: str) -> None:
        expected, set_on = self._tokens.get(role, (None, None))
        given = hashlib.sha256(token.encode()).hexdigest()
        if expected is None or not hmac.compare_digest(expected, given):
            self._audit.record("", "", "", "window-refused", f"role {role}")
            raise MaintenanceDeniedError(f"role {role!r} may not open maintenance windows")
        if set_on is not None and self._token_max_age_days > 0:
            expires = set_on + datetime.timedelta(days=self._token_max_age_days)
            if datetime.date.fromtimestamp(self._clock()) >= expires:
                self._audit.record("", "", "", "window-refused", f"role {role}: token expired")
                raise TokenExpiredError(
                    f"role {role!r}: its token expired on {expires.isoformat()}; "
                    "the site sets a new one ([devices.usb] operators)"
                )
