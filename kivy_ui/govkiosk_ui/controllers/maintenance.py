"""The operator's screens: login with the PIN, device health, printer test, logout.

The PIN goes to ``cn.govkiosk.Maintenance1.Login`` and is checked by the daemon; this
keeps only the token it returns and forgets it (``Logout``) on logout, expiry, the
attract screen, going home or the daemon leaving.

The PIN is changed (§8 f) in :class:`~..screens.maintenance.PinChangeDialog`, by
``Maintenance1.ChangePin``: forced when the login finds the PIN expired, or from the
maintenance screen's button. A change ends every login made with the old PIN, so the
new PIN then logs in at once. No PIN is ever logged: only the daemon's error names.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from typing import Callable, Mapping, Optional

from dbus_next import DBusError

from govkiosk.contract.names import KIOSK_INTERFACE, MAINTENANCE_INTERFACE, RECEIPT_INTERFACE

from ..client import DaemonAwayError, DaemonClient
from ..i18n import _, language
from ..model import Item
from ..screens.maintenance import MaintenanceLoginScreen, MaintenanceScreen, PinChangeDialog
from ..tasks import Tasks
from .frame import Frame
from .indicators import IndicatorsController
from .power import PowerController

_LOGGER = logging.getLogger(__name__)

#: The days of use and ratings the maintenance screen sums up.
USAGE_DAYS = 30
#: ``LockedOut``'s message says how long: "… try again in 300 s".
_LOCKED_FOR = re.compile(r"try again in (\d+) s")


def pin_problem(err: DBusError, wrong: str) -> str:
    """The daemon's refusal of a PIN in words; ``wrong``: what a mismatch is called here."""
    name = err.type.rsplit(".", 1)[-1]
    if name == "WrongPin":
        return wrong
    if name == "LockedOut":
        seconds = _LOCKED_FOR.search(err.text or "")
        if seconds is None:
            return _("Too many wrong PINs: try again later")
        minutes = max(1, math.ceil(int(seconds.group(1)) / 60))
        return _("Too many wrong PINs: try again in {minutes} min").format(minutes=minutes)
    if name == "PinReused":
        return _("The new PIN must differ from the current one")
    if name == "InvalidPin":
        return _("The new PIN must be 6 to 12 digits")
    if name == "MaintenanceDisabled":
        return _("No maintenance PIN is configured: the maintenance screen is closed")
    return _("The kiosk service refused: {reason}").format(reason=err.text or name)


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
        self._dialog: Optional[PinChangeDialog] = None

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
            if err.type.endswith(".PinExpired"):  # §8 f: the right PIN, too old: change it
                self.dialog().start(_("The PIN has expired: please set a new one"), pin)
            else:
                screen.problem = pin_problem(err, _("Wrong PIN"))
            return
        except (DaemonAwayError, asyncio.TimeoutError):
            screen.problem = _("The kiosk service is not answering: try again")
            return
        self.token = str(reply[0][0])
        _LOGGER.info("maintenance: operator logged in")
        self._frame.show_screen("maintenance")
        await self._load()

    # -- the PIN change ------------------------------------------------------------------

    def dialog(self) -> PinChangeDialog:
        if self._dialog is None:
            self._dialog = PinChangeDialog()
        return self._dialog

    def open_change(self) -> None:
        """The maintenance screen's 修改维护密码: the current PIN is asked again."""
        if self.token:
            self.dialog().start(_("Enter the current PIN, then the new one twice."))

    def cancel_change(self) -> None:
        self.dialog().close()

    def change_pin(self, pin: str, new_pin: str) -> None:
        self._tasks.spawn(self._change_pin(pin, new_pin), "maintenance PIN change")

    async def _change_pin(self, pin: str, new_pin: str) -> None:
        dialog = self.dialog()
        try:
            await self._client.call(MAINTENANCE_INTERFACE, "ChangePin", "ss", pin, new_pin)
        except DBusError as err:
            _LOGGER.warning("maintenance: PIN change refused: %s", err.type)
            name = err.type.rsplit(".", 1)[-1]
            wrong = _("The current PIN is wrong")
            field = "new" if name in ("PinReused", "InvalidPin") else "current"
            dialog.refused(pin_problem(err, wrong), field)
            return
        except (DaemonAwayError, asyncio.TimeoutError):
            dialog.refused(_("The kiosk service is not answering: try again"), "new")
            return
        _LOGGER.info("maintenance: PIN changed")
        dialog.close()
        # The old PIN's logins ended with it: the new PIN logs in.
        self.token = ""
        await self._login(new_pin)
        if self.token:
            screen: MaintenanceScreen = self._frame.screen("maintenance")
            screen.pin_changed()
        elif self._frame.current != "maintenance_login":  # from the maintenance screen
            login: MaintenanceLoginScreen = self._frame.screen("maintenance_login")
            problem = login.problem
            self._frame.show_screen("maintenance_login")
            login.problem = problem

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
        status = await self._client.read(MAINTENANCE_INTERFACE, "PinStatus")
        warn = (await self._client.read_properties(MAINTENANCE_INTERFACE)).get("PinWarnDays")
        if status is not None and isinstance(warn, int):
            expires, left = status[0]
            screen.show_pin(bool(expires), int(left), warn)
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
        """Drop the operator's token, telling the daemon (``Logout``) if there was one, and
        close the PIN change with every digit typed into it."""
        if self._dialog is not None:
            self._dialog.close()
        self._frame.screen("maintenance").clear_pin()
        token, self.token = self.token, ""
        if token:
            self._tasks.spawn(
                self._client.read(MAINTENANCE_INTERFACE, "Logout", "s", token), "logout"
            )
            _LOGGER.info("maintenance: operator logged out")
