"""The daily look at what expires (§8 f): the maintenance PIN and the kiosk's certificates.

Alarms (shown on the maintenance screen's recent alarms and sent to ops):

- ``pin_expiring`` (warning) within ``[maintenance] pin_warn_days`` of the PIN's expiry,
  ``pin_expired`` (critical) after it (logins are refused until it is changed),
  ``pin_age_unknown`` (warning) when ``pin_max_age_days`` applies but ``pin_set`` is empty;
- ``token_expiring`` (warning) within ``pin_warn_days`` of a dated engineer token's expiry
  (``[devices.usb] operators``), ``token_expired`` (warning: that role's windows are refused);
- ``certificate_expiring`` (warning) within :data:`CERT_WARN_DAYS` days,
  ``certificate_expired`` (critical) after, ``certificate_unreadable`` (critical).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from typing import Callable, List, Mapping, Optional

from ..bus import Alarm, EventBus, Severity
from ..supervisor import Service
from .certs import CertificateStatus, statuses

_LOGGER = logging.getLogger(__name__)

SOURCE = "credentials"
#: Certificates are alarmed this many days ahead: time for a CSR to reach the site CA.
CERT_WARN_DAYS = 30
#: How often the watch looks.
INTERVAL = 86400.0


class CredentialWatch(Service):
    name = "credentials"

    def __init__(
        self,
        bus: EventBus,
        pin_days_left: Callable[[float], Optional[int]],
        pin_warn_days: Callable[[], int],
        pin_age_unknown: Callable[[], bool],
        certificates: Callable[[], Mapping[str, str]],
        *,
        token_days_left: Callable[[float], Mapping[str, int]] = lambda _now: {},
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self._pin_days_left = pin_days_left
        self._pin_warn_days = pin_warn_days
        self._pin_age_unknown = pin_age_unknown
        self._certificates = certificates
        self._token_days_left = token_days_left
        self._clock = clock

    async def start(self) -> None:
        pass

    async def serve(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(INTERVAL)

    async def check(self) -> List[Alarm]:
        """Look once; publish and return the alarms raised."""
        now = self._clock()
        alarms = self._pin_alarms(now) + self._token_alarms(now)
        when = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, statuses, dict(self._certificates()), when)
        alarms += [a for a in map(_certificate_alarm, found) if a is not None]
        for alarm in alarms:
            self._bus.publish(alarm)
        return alarms

    def _pin_alarms(self, now: float) -> List[Alarm]:
        if self._pin_age_unknown():
            return [
                Alarm(
                    SOURCE,
                    "pin_age_unknown",
                    Severity.WARNING,
                    "maintenance PIN: its date is unknown; set [maintenance] pin_set "
                    "or change the PIN",
                )
            ]
        left = self._pin_days_left(now)
        if left is None:
            return []
        if left <= 0:
            return [
                Alarm(
                    SOURCE,
                    "pin_expired",
                    Severity.CRITICAL,
                    "maintenance PIN has expired: logins are refused until it is changed",
                )
            ]
        if left <= self._pin_warn_days():
            return [
                Alarm(
                    SOURCE,
                    "pin_expiring",
                    Severity.WARNING,
                    f"maintenance PIN expires in {left} day(s): change it",
                )
            ]
        return []

    def _token_alarms(self, now: float) -> List[Alarm]:
        alarms = []
        for role, left in sorted(self._token_days_left(now).items()):
            if left <= 0:
                alarms.append(
                    Alarm(
                        SOURCE,
                        "token_expired",
                        Severity.WARNING,
                        f"engineer token of role {role} has expired: set a new one "
                        "([devices.usb] operators)",
                    )
                )
            elif left <= self._pin_warn_days():
                alarms.append(
                    Alarm(
                        SOURCE,
                        "token_expiring",
                        Severity.WARNING,
                        f"engineer token of role {role} expires in {left} day(s)",
                    )
                )
        return alarms


def _certificate_alarm(status: CertificateStatus) -> Optional[Alarm]:
    if status.error or status.days_left is None:
        return Alarm(
            SOURCE,
            "certificate_unreadable",
            Severity.CRITICAL,
            f"{status.name} ({status.path}): {status.error}",
        )
    if status.days_left < 0:
        return Alarm(
            SOURCE,
            "certificate_expired",
            Severity.CRITICAL,
            f"{status.name} ({status.path}) expired on {status.not_after:%Y-%m-%d}",
        )
    if status.days_left <= CERT_WARN_DAYS:
        return Alarm(
            SOURCE,
            "certificate_expiring",
            Severity.WARNING,
            f"{status.name} ({status.path}) expires in {status.days_left} day(s) "
            f"({status.not_after:%Y-%m-%d}): govkioskctl keys rotate",
        )
    return None
