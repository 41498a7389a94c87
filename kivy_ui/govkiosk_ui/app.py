"""The Kivy application: the frame, the screens, and the daemon client on one asyncio loop.

Kivy runs on asyncio (``App.async_run``), so the D-Bus client's callbacks arrive on the
same thread as Kivy's and may touch widgets directly. This module routes: daemon
status and signals to the frame and screens, the citizen's presses to the daemon
(through :class:`~govkiosk_ui.journey.Journey` for the session). It decides nothing
the daemon decides: what may be done and when is in the daemon's answers.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import os
import signal
import time
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from dbus_next import DBusError
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from govkiosk.contract.names import (
    DEVICES_INTERFACE,
    IDCARD_INTERFACE,
    KIOSK_INTERFACE,
    MAINTENANCE_INTERFACE,
    OPS_INTERFACE,
    POWER_INTERFACE,
    PRESENCE_INTERFACE,
    RECEIPT_INTERFACE,
    RESTART_STATUS,
    SESSION_INTERFACE,
)

from . import i18n, remote, theme
from .client import DaemonAwayError, DaemonClient
from .i18n import N_, _
from .journey import CallErrors, Journey
from .model import Item, Session, by_department
from .screens.attract import AttractScreen
from .screens.catalogue import CatalogueScreen
from .screens.help import HelpScreen
from .screens.item import ItemScreen
from .screens.maintenance import MaintenanceLoginScreen, MaintenanceScreen
from .screens.out_of_service import OutOfServiceScreen
from .screens.steps import (
    CardScreen,
    ConfirmScreen,
    DoneScreen,
    ErrorScreen,
    PreviewScreen,
    PrintingScreen,
    ProgressScreen,
    StepScreen,
)
from .screens.unavailable import UnavailableScreen
from .status import (
    NOT_ACCEPTING_STAGES,
    OUT_OF_SERVICE_STAGES,
    DaemonStatus,
    devices_indicator,
    link_indicator,
    network_indicator,
    paper_indicator,
    ups_indicator,
)
from .tasks import Tasks
from .voice import Speaker
from .widgets import card_animation, nav_bar, quick_menu, status_bar, step_content  # noqa: F401
from .widgets.buttons import KioskButton  # noqa: F401 - defines KioskButton for the kv rules
from .widgets.surface import Surface

_LOGGER = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent / "kv"
KV_FILES = (
    "common.kv",
    "status_bar.kv",
    "nav_bar.kv",
    "quick_menu.kv",
    "card_animation.kv",
    "attract.kv",
    "catalogue.kv",
    "item.kv",
    "steps.kv",
    "help.kv",
    "out_of_service.kv",
    "maintenance.kv",
    "unavailable.kv",
    "kiosk.kv",
)
#: Frames to let pass after a change before a screenshot: label textures and the
#: layout are rebuilt on the frames that follow a property change.
SETTLE_FRAMES = 3
#: Untouched this long outside a session, the kiosk returns to its attract screen.
IDLE_SECONDS = 90.0
#: How many items the quick menu's "frequent items" lists.
FREQUENT = 4

PROPERTIES = "org.freedesktop.DBus.Properties"

SCREENS: Dict[str, Callable[..., Screen]] = {
    "unavailable": UnavailableScreen,
    "attract": AttractScreen,
    "home": CatalogueScreen,
    "frequent": CatalogueScreen,
    "item": ItemScreen,
    "card": CardScreen,
    "confirm": ConfirmScreen,
    "progress": ProgressScreen,
    "preview": PreviewScreen,
    "printing": PrintingScreen,
    "done": DoneScreen,
    "error": ErrorScreen,
    "out_of_service": OutOfServiceScreen,
    "help": HelpScreen,
    "maintenance_login": MaintenanceLoginScreen,
    "maintenance": MaintenanceScreen,
}
#: Where the citizen is, for the navigation bar (English message ids).
WHERE = {
    "unavailable": N_("Service unavailable"),
    "attract": N_("Welcome"),
    "home": N_("Home"),
    "frequent": N_("Frequent items"),
    "out_of_service": N_("Out of service"),
    "help": N_("Help"),
    "maintenance_login": N_("Maintenance"),
    "maintenance": N_("Maintenance"),
}
#: Status-bar entries read from ``cn.govkiosk.Ops1``'s properties.
STATUS_PROPERTIES = (("network", "Network", network_indicator), ("ops", "Link", link_indicator))
#: Screens of a citizen's session: they may show the masked holder or the document.
SESSION_SCREENS = ("card", "confirm", "progress", "preview", "printing", "done")
#: Screens "back" leaves, and where to.
BACK = {"item": "home", "frequent": "home", "help": "", "maintenance_login": "home"}
#: Screens the idle timer may leave for the attract screen.
IDLE_SCREENS = ("home", "frequent", "item", "help", "maintenance_login", "maintenance")
BANNERS = {
    "on_battery": N_("Mains power is off; the kiosk runs on its backup battery."),
    "draining": N_("Backup battery low: no new applications. Please finish now."),
}


class KioskRoot(Surface):
    nav_bar = ObjectProperty(None)
    status_bar = ObjectProperty(None)
    quick_menu = ObjectProperty(None)
    screens = ObjectProperty(None)
    banner = StringProperty("")


class KioskApp(App):
    language = StringProperty(i18n.DEFAULT_LANGUAGE)
    voice_on = BooleanProperty(True)
    text_scale = NumericProperty(1.0)

    def __init__(
        self,
        bus_address: str,
        *,
        screenshot: Optional[Path] = None,
        speaker: Optional[Speaker] = None,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        super().__init__()
        self.title = _("Government Service Kiosk")
        self.language = i18n.language()
        self.remote = remote.UiInterface(self)
        self.client = DaemonClient(
            bus_address,
            self.show_status,
            self.on_daemon_signal,
            on_bus=lambda bus: remote.serve(bus, self.remote),
        )
        self.tasks = Tasks()
        self.journey = Journey(self)
        self.speaker = speaker if speaker is not None else Speaker()
        self._client_task: Optional[asyncio.Task[None]] = None
        self._screenshot = screenshot
        self._idle_seconds = idle_seconds
        self._touched = time.monotonic()
        self.failed = False
        self.exit_status = 0
        self.status = DaemonStatus(available=False)
        self.items: Dict[str, Item] = {}
        self.started: collections.Counter[str] = collections.Counter()
        self.stage = "normal"
        self.ups: Dict[str, Any] = {}
        self.printers: Dict[str, List[str]] = {}
        self.devices: List[Dict[str, str]] = []
        self.maintenance_token = ""
        self._back_to = "home"
        self.leave_dialog: Any = None
        i18n.on_language_change(self._language_changed)

    # -- the frame ---------------------------------------------------------------------

    def build(self) -> KioskRoot:
        for name in KV_FILES:
            Builder.load_file(str(KV_DIR / name))
        root = KioskRoot()
        for name, screen in SCREENS.items():
            root.screens.add_widget(screen(name=name))
        root.status_bar.ids.kiosk_id.on_long_press = self.open_maintenance
        root.status_bar.render()
        self._show("unavailable")
        return root

    def on_start(self) -> None:
        loop = asyncio.get_event_loop()
        # Installed once the window exists, so they replace SDL's own handlers.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        Window.bind(on_touch_down=self._on_any_touch)
        Clock.schedule_interval(self._check_idle, 1.0)
        self._client_task = loop.create_task(self.client.run())
        self._client_task.add_done_callback(self._client_ended)
        # Kivy, the kv rules, the fonts and every screen now exist and stay for the
        # process's life. Out of the collector's sight, they no longer make each full
        # collection (which some tap's allocations trigger) a 60-180 ms pause.
        gc.collect()
        gc.freeze()

    def on_stop(self) -> None:
        gc.unfreeze()  # a stopped app's widgets are garbage like any other
        self.speaker.stop()
        self.tasks.cancel_all()
        if self._client_task is not None:
            self._client_task.cancel()

    def _client_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        # run() only returns by raising: a bug. Let the service manager restart the UI.
        _LOGGER.error("daemon client stopped", exc_info=task.exception())
        self.failed = True
        self.stop()

    @property
    def current(self) -> str:
        return str(self.root.screens.current)

    def screen(self, name: str) -> Any:
        return self.root.screens.get_screen(name)

    def _show(self, name: str, where: str = "") -> None:
        root: KioskRoot = self.root if self.root is not None else None
        screens = root.screens if root is not None else None
        if screens is None:
            return
        if screens.current != name:
            _LOGGER.info("showing %s", name)
        screens.current = name
        self._touched = time.monotonic()
        root.nav_bar.where = where or _(WHERE.get(name, ""))
        root.nav_bar.can_go_back = name in BACK
        if name == "card":
            self.screen("card").content.children[0].start()

    def say(self, text: str) -> None:
        if self.voice_on:
            self.speaker.say(text, self.language)

    def _on_any_touch(self, _window: Any, _touch: Any) -> bool:
        self._touched = time.monotonic()
        return False

    def _check_idle(self, _dt: float) -> None:
        if self.journey.active or self.current not in IDLE_SCREENS:
            return
        if time.monotonic() - self._touched >= self._idle_seconds:
            _LOGGER.info("idle for %g s: attract screen", self._idle_seconds)
            self.rest()

    def rest(self) -> None:
        """The attract screen; an operator's login ends here too."""
        self._forget_maintenance()
        self._show("attract")

    def wake(self) -> None:
        if self.current == "attract":
            self.show_home()

    # -- daemon status and signals ------------------------------------------------------

    def show_status(self, status: DaemonStatus) -> None:
        was_available, self.status = self.status.available, status
        bar = self.root.status_bar
        bar.kiosk_id = status.kiosk_id or "—"
        bar.show("devices", devices_indicator(status, self.devices))
        if not status.available:  # the daemon's word only: stale while it is away
            bar.show("network", network_indicator(""))
            bar.show("ops", link_indicator(""))
        self.screen("attract").kiosk_name = status.kiosk_name
        if status.available and not was_available:
            _LOGGER.info(
                "daemon available: %d/%d services running", status.running, len(status.services)
            )
            self.tasks.spawn(self.refresh(), "refresh")
        elif not status.available:
            # The first answer, even "away", ends "connecting…".
            self.screen("unavailable").connecting = False
            if self.journey.active:
                self.journey.end("home")
            self._forget_maintenance()
            if self.current != "unavailable":
                _LOGGER.info("showing service unavailable")
            self._show("unavailable")

    async def refresh(self) -> None:
        """Everything the screens show, read afresh (at start and whenever the daemon returns)."""
        stage = await self._read(PROPERTIES, "Get", "ss", POWER_INTERFACE, "Stage")
        self.stage = str(stage[0]) if stage else "normal"
        ups = await self._read(POWER_INTERFACE, "GetState")
        self.ups = ups[0] if ups else {}
        printers = await self._read(RECEIPT_INTERFACE, "GetPrinters")
        self.printers = {row[0]: list(row) for row in (printers[0] if printers else [])}
        for entry, name, indicator in STATUS_PROPERTIES:
            value = await self._read(PROPERTIES, "Get", "ss", OPS_INTERFACE, name)
            self.root.status_bar.show(entry, indicator(str(value[0]) if value else ""))
        await self._refresh_devices()
        await self._refresh_catalogue()
        self._show_power()
        self._show_paper()
        if self.current in ("unavailable", "out_of_service") and not self._out_of_service():
            self.show_home()
            self._write_screenshot_once()
        await self.journey.resume()

    async def _read(self, interface: str, member: str, signature: str = "", *body: Any) -> Any:
        """A call whose failure leaves the screen's default (an interface not served yet)."""
        try:
            return await self.client.call(interface, member, signature, *body)
        except CallErrors as err:
            _LOGGER.debug("%s.%s: %s", interface, member, err)
            return None

    async def _refresh_devices(self) -> None:
        devices = await self._read(KIOSK_INTERFACE, "ListDevices")
        self.devices = devices[0] if devices else []
        self.root.status_bar.show("devices", devices_indicator(self.status, self.devices))

    async def _refresh_catalogue(self) -> None:
        rows = await self._read(SESSION_INTERFACE, "ListItems")
        items = [Item.from_dbus(row) for row in (rows[0] if rows else [])]
        self.items = {item.code: item for item in items}
        self._render_catalogue()

    def _render_catalogue(self) -> None:
        items = list(self.items.values())
        home: CatalogueScreen = self.screen("home")
        home.heading = _("Choose an item to start")
        home.show_groups(by_department(items))
        self.screen("item").reserve(items)  # its lines built now, not on the tap
        frequent: CatalogueScreen = self.screen("frequent")
        order = {item.code: index for index, item in enumerate(items)}
        ranked = sorted(items, key=lambda i: (-self.started[i.code], order[i.code]))[:FREQUENT]
        frequent.heading = _("The items most often handled at this kiosk")
        frequent.show_groups([(_("Frequent items"), ranked)] if ranked else [])

    def on_daemon_signal(self, interface: str, member: str, body: List[Any]) -> None:
        if interface == SESSION_INTERFACE:
            if member == "SessionChanged":
                self.journey.on_changed(body[0])
            elif member == "CatalogueChanged":
                self.tasks.spawn(self._refresh_catalogue(), "catalogue")
        elif interface == POWER_INTERFACE and member == "StageChanged":
            self.stage = str(body[0])
            self._show_power()
        elif interface == POWER_INTERFACE and member == "StateChanged":
            self.ups = body[0]
            self._show_power()
        elif interface == RECEIPT_INTERFACE and member == "StateChanged":
            self.printers[body[0]] = list(body)
            self._show_paper()
        elif interface == PRESENCE_INTERFACE:
            self._presence(member)
        elif interface == IDCARD_INTERFACE and member in ("CardPresent", "CardRemoved"):
            self.screen("card").content.children[0].card_present = member == "CardPresent"
        elif interface == DEVICES_INTERFACE and member == "DeviceChanged":
            self.tasks.spawn(self._refresh_devices(), "devices")
        elif interface == OPS_INTERFACE and member == "NetworkChanged":
            self.root.status_bar.show("network", network_indicator(str(body[0])))
        elif interface == OPS_INTERFACE and member == "LinkChanged":
            self.root.status_bar.show("ops", link_indicator(str(body[0])))

    def _presence(self, member: str) -> None:
        if member == "PersonArrived":
            self.wake()
        # In a session the daemon waits out its walk-away grace (a citizen bending down
        # is still there), then ends and wipes it; the UI follows its signal.
        elif member == "PersonLeft" and not self.journey.active and self.current in IDLE_SCREENS:
            self.rest()

    def _out_of_service(self) -> bool:
        return self.stage in OUT_OF_SERVICE_STAGES

    def _show_power(self) -> None:
        self.root.status_bar.show("ups", ups_indicator(self.stage, self.ups))
        banner = BANNERS.get(self.stage, "")
        self.root.banner = _(banner) if banner else ""
        if self._out_of_service():
            if self.journey.active:
                self.journey.end("home")
            if not self.current.startswith("maintenance"):
                self.screen("out_of_service").reason = N_("The power supply has failed.")
                self._show("out_of_service")
        elif self.current == "out_of_service":
            self.show_home()

    def _show_paper(self) -> None:
        rows = [(r[0], r[1], r[2]) for r in self.printers.values()]
        self.root.status_bar.show("paper", paper_indicator(rows))

    # -- the citizen's navigation -------------------------------------------------------

    def show_home(self) -> None:
        if self._out_of_service():
            return
        self._show("home")

    def open_item(self, code: str) -> None:
        item = self.items.get(code)
        if item is None:
            return
        screen: ItemScreen = self.screen("item")
        screen.show_item(item)
        self._show("item", item.name)
        self.say(item.name)

    def start_session(self, code: str) -> None:
        if self.stage in NOT_ACCEPTING_STAGES:
            self.show_problem(_(BANNERS["draining"]), "")
            return
        self.started[code] += 1
        self.tasks.spawn(self.journey.start(code), "start")

    def show_step(self, name: str, session: Session) -> None:
        screen: StepScreen = self.screen(name)
        screen.render(session)
        item = self.items.get(session.item_code)
        self._show(name, item.name if item is not None else _("Applying"))

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None:
        screen = self.root.screens.current_screen
        if isinstance(screen, StepScreen):
            screen.show_countdown(seconds, fraction, warning)

    def show_preview_page(self, page: int, png: bytes) -> None:
        preview: PreviewScreen = self.screen("preview")
        if preview.page == page:
            preview.show_page(png)

    def show_problem(self, message: str, error_code: str) -> None:
        """A failure outside a session: its message and one way on, back to home."""
        problem = Session(
            "",
            state="failed",
            message=message,
            error_code=error_code,
            choices=("home",),
            prompt=_("Sorry"),
        )
        self.show_step("error", problem)
        self.say(message)

    def session_over(self) -> None:
        if self.current in ("card", "confirm", "progress", "preview", "printing", "done", "error"):
            self.show_home()

    def go_home(self, *, confirm: bool = True) -> None:
        if self.journey.active and confirm:
            self._ask_to_leave()
            return
        if self.journey.active:
            self.journey.end("home")
        self._forget_maintenance()
        self.show_home()

    def _ask_to_leave(self) -> None:
        dialog = Factory.LeaveDialog()

        def leave(*_args: Any) -> None:
            dialog.dismiss()
            self.go_home(confirm=False)

        dialog.ids.leave.bind(on_release=leave)
        dialog.ids.stay.bind(on_release=lambda *_args: dialog.dismiss())
        self.leave_dialog = dialog
        dialog.open()

    def go_back(self) -> None:
        target = BACK.get(self.current)
        if target is None:
            return
        self._show(target or self._back_to)

    def show_help(self) -> None:
        if self.current != "help":
            self._back_to = self.current
        self._show("help")
        self.say(_("Choose an item on the home screen."))

    def show_frequent(self) -> None:
        if not self.journey.active:
            self._render_catalogue()
            self._show("frequent")

    def toggle_voice(self) -> None:
        self.voice_on = not self.voice_on
        if not self.voice_on:
            self.speaker.stop()
        else:
            self.say(_("Voice on"))

    def toggle_large_text(self) -> None:
        self.text_scale = theme.LARGE_TEXT if self.text_scale == 1.0 else 1.0

    def on_text_scale(self, _app: Any, _scale: float) -> None:
        if self.root is not None:
            self._render_catalogue()  # the tiles' markup carries a text size

    def toggle_language(self) -> None:
        i18n.set_language("en" if self.language == "zh_CN" else "zh_CN")

    def _language_changed(self, language: str) -> None:
        self.language = language
        self.title = _("Government Service Kiosk")
        if self.root is None:
            return
        self.root.status_bar.render()
        self._render_catalogue()
        self.screen("item").render()
        self._show_power()
        current = self.root.screens.current_screen
        if isinstance(current, StepScreen):
            current.retranslate()
        if self.current == "item":
            self.root.nav_bar.where = self.screen("item").item_name
        elif isinstance(current, StepScreen):
            pass
        else:
            self.root.nav_bar.where = _(WHERE.get(self.current, ""))

    # -- maintenance --------------------------------------------------------------------

    def open_maintenance(self) -> None:
        if not self.journey.active and self.status.available:
            self._show("maintenance_login")

    def maintenance_login(self, pin: str) -> None:
        self.tasks.spawn(self._login(pin), "maintenance login")

    async def _login(self, pin: str) -> None:
        login: MaintenanceLoginScreen = self.screen("maintenance_login")
        try:
            reply = await self.client.call(MAINTENANCE_INTERFACE, "Login", "s", pin)
        except DBusError as err:
            _LOGGER.warning("maintenance: login refused: %s", err.type)
            login.problem = err.text or _("Wrong PIN")
            return
        except (DaemonAwayError, asyncio.TimeoutError) as err:
            login.problem = str(err)
            return
        self.maintenance_token = str(reply[0][0])
        _LOGGER.info("maintenance: operator logged in")
        self._show("maintenance")
        await self._maintenance_load()

    def maintenance_refresh(self) -> None:
        self.tasks.spawn(self._maintenance_load(), "maintenance refresh")

    async def _maintenance_load(self) -> None:
        screen: MaintenanceScreen = self.screen("maintenance")
        services = await self._read(KIOSK_INTERFACE, "GetServices")
        await self._refresh_devices()
        screen.show_devices(services[0] if services else [], self.devices)
        screen.show_ups(self.stage, self.ups)
        screen.show_printers(list(self.printers.values()))
        alarms = await self._read(
            MAINTENANCE_INTERFACE, "RecentAlarms", "s", self.maintenance_token
        )
        if alarms is None:  # the login expired
            self._forget_maintenance()
            self.show_home()
            return
        screen.show_alarms(alarms[0])

    def maintenance_print_test(self) -> None:
        self.tasks.spawn(self._print_test(), "printer test")

    async def _print_test(self) -> None:
        screen: MaintenanceScreen = self.screen("maintenance")
        screen.test_result = _("Printing…")
        try:
            reply = await self.client.call(RECEIPT_INTERFACE, "PrintTest")
        except DBusError as err:
            screen.test_result = err.text
            return
        except (DaemonAwayError, asyncio.TimeoutError) as err:
            screen.test_result = str(err)
            return
        _job, outcome, reason = reply[0]
        screen.test_result = f"{outcome}" + (f": {reason}" if reason else "")

    def maintenance_logout(self) -> None:
        self._forget_maintenance()
        self.show_home()

    def _forget_maintenance(self) -> None:
        token, self.maintenance_token = self.maintenance_token, ""
        if token:
            self.tasks.spawn(self._read(MAINTENANCE_INTERFACE, "Logout", "s", token), "logout")
            _LOGGER.info("maintenance: operator logged out")

    # -- ops (cn.govkiosk.UI1) ---------------------------------------------------------

    def citizen_on_screen(self) -> bool:
        return self.journey.active or self.current in SESSION_SCREENS

    def screenshot_png(self) -> bytes:
        png = BytesIO()
        self.root.export_as_image().save(png, fmt="png")
        return png.getvalue()

    def restart(self) -> None:
        """Exit for the service manager to start the UI again (``Restart=always``)."""
        self.exit_status = RESTART_STATUS
        self.stop()

    # -- screenshots --------------------------------------------------------------------

    def _write_screenshot_once(self) -> None:
        if self._screenshot is not None:
            path, self._screenshot = self._screenshot, None
            self.after_frames(SETTLE_FRAMES, lambda: self.write_screenshot(path))

    def after_frames(self, frames: int, action: Callable[[], None]) -> None:
        # Counted in displayed frames: callbacks scheduled for "the next frame" from a
        # clock callback may run within the same frame.
        target = Clock.frames_displayed + frames

        def check(_dt: float) -> bool:
            if Clock.frames_displayed < target:
                return True
            action()
            return False

        Clock.schedule_interval(check, 0)

    def write_screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.png")
        self.root.export_to_png(str(partial))
        os.replace(partial, path)  # whoever waits for the file never sees half of it
        _LOGGER.info("screenshot written to %s", path)
