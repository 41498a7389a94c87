"""The operator's screens: login with the PIN, device health, printer test, logout.

The PIN goes to ``cn.govkiosk.Maintenance1.Login`` and is checked by the daemon; this
keeps only the token it returns and forgets it (``Logout``) on logout, expiry, the
attract screen, going home or the daemon leaving.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Mapping

from dbus_next import DBusError

from govkiosk.contract.names import KIOSK_INTERFACE, MAINTENANCE_INTERFACE, RECEIPT_INTERFACE

from ..client import DaemonAwayError, DaemonClient
from ..i18n import _, language
from ..model import Item
from ..screens.maintenance import MaintenanceLoginScreen, MaintenanceScreen
from ..tasks import Tasks
from .frame import Frame
from .indicators import IndicatorsController
from .power import PowerController

_LOGGER = logging.getLogger(__name__)

#: The days of use and ratings the maintenance screen sums up.
USAGE_DAYS = 30


class MaintenanceController:
    def __init__(
        self,
        frame: Frame,
        client: DaemonClient,
        tasks: Tasks,
        *,
        power: PowerController,
        indicators: IndicatorsController,
        items: Callable[[], Mapping[str, Item]],
    ) -> None:
        self._frame = frame
        self._items = items
        self._client = client
        self._tasks = tasks
        self._power = power
        self._indicators = indicators
        self.token = ""

    def open(self) -> None:
        """The operator login (a long press on the hotline): never during a session."""
        if not self._frame.in_session() and self._frame.daemon_available():
            self._frame.show_screen("maintenance_login")

    def login(self, pin: str) -> None:
        self._tasks.spawn(self._login(pin), "maintenance login")

    async def _login(self, pin: str) -> None:
        screen: MaintenanceLoginScreen = self._frame.screen("maintenance_login")
        try:
            reply = await self._client.call(MAINTENANCE_INTERFACE, "Login", "s", pin)
        except DBusError as err:
            _LOGGER.warning("maintenance: login refused: %s", err.type)
            if err.type.endswith(".PinExpired"):  # §8 f: changed by an engineer, then it opens
                screen.problem = _("The PIN has expired: an engineer must set a new one")
            else:
                screen.problem = err.text or _("Wrong PIN")
            return
        except (DaemonAwayError, asyncio.TimeoutError) as err:
            screen.problem = str(err)
            return
        self.token = str(reply[0][0])
        _LOGGER.info("maintenance: operator logged in")
        self._frame.show_screen("maintenance")
        await self._load()

    def refresh(self) -> None:
        self._tasks.spawn(self._load(), "maintenance refresh")

    async def _load(self) -> None:
        screen: MaintenanceScreen = self._frame.screen("maintenance")
        services = await self._client.read(KIOSK_INTERFACE, "GetServices")
        devices = await self._client.read(KIOSK_INTERFACE, "ListDevices")
        screen.show_devices(services[0] if services else [], devices[0] if devices else [])
        screen.show_ups(self._power.stage, self._power.ups)
        screen.show_status(self._frame.status_entries())
        screen.show_printers(list(self._indicators.printers.values()))
        alarms = await self._client.read(MAINTENANCE_INTERFACE, "RecentAlarms", "s", self.token)
        if alarms is None:  # the login expired
            self.forget()
            self._frame.show_home()
            return
        screen.show_alarms(alarms[0])
        usage = await self._client.read(
            MAINTENANCE_INTERFACE, "Statistics", "su", self.token, USAGE_DAYS
        )
        if usage is not None:
            names = {code: item.shown(language()).name for code, item in self._items().items()}
            screen.show_usage(usage[0][2], names)

    def print_test(self) -> None:
        self._tasks.spawn(self._print_test(), "printer test")

    async def _print_test(self) -> None:
        screen: MaintenanceScreen = self._frame.screen("maintenance")
        screen.test_result = _("Printing…")
        try:
            reply = await self._client.call(RECEIPT_INTERFACE, "PrintTest")
        except DBusError as err:
            screen.test_result = err.text
            return
        except (DaemonAwayError, asyncio.TimeoutError) as err:
            screen.test_result = str(err)
            return
        _job, outcome, reason = reply[0]
        screen.test_result = f"{outcome}" + (f": {reason}" if reason else "")

    def logout(self) -> None:
        self.forget()
        self._frame.show_home()

    def forget(self) -> None:
        """Drop the operator's token, telling the daemon (``Logout``) if there was one."""
        token, self.token = self.token, ""
        if token:
            self._tasks.spawn(
                self._client.read(MAINTENANCE_INTERFACE, "Logout", "s", token), "logout"
            )
            _LOGGER.info("maintenance: operator logged out")
