"""The Kivy application: the frame, the screens, and the daemon client on one asyncio loop.

Kivy runs on asyncio (``App.async_run``), so the D-Bus client's callbacks arrive on the
same thread as Kivy's and may touch widgets directly. This module routes: daemon
status and signals to the frame and screens, the citizen's presses to the daemon
(through :class:`~govkiosk_ui.journey.Journey` for the session). It decides nothing
the daemon decides: what may be done and when is in the daemon's answers.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from io import BytesIO
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.core.image import Image as CoreImage
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from govkiosk.contract.names import (
    IDCARD_INTERFACE,
    KIOSK_INTERFACE,
    RESTART_STATUS,
    SESSION_INTERFACE,
)

from . import i18n, remote, theme
from .client import DaemonClient
from .controllers.catalogue import CatalogueController
from .controllers.idle import IDLE_SECONDS, IdleController
from .controllers.indicators import IndicatorsController
from .controllers.maintenance import MaintenanceController
from .controllers.power import NOT_ACCEPTING, PowerController
from .framerate import FrameRateGovernor
from .i18n import N_, _
from .journey import Journey
from .model import Item, Session
from .screens.attract import AttractScreen
from .screens.camera import CameraScreen, CaptureScreen, FaceScreen
from .screens.catalogue import CatalogueScreen
from .screens.help import HelpScreen
from .screens.item import ItemScreen
from .screens.maintenance import MaintenanceLoginScreen, MaintenanceScreen
from .screens.out_of_service import OutOfServiceScreen
from .screens.steps import (
    CardScreen,
    ConfirmScreen,
    ConsentScreen,
    DoneScreen,
    ErrorScreen,
    PreviewScreen,
    PrintingScreen,
    ProgressScreen,
    StepScreen,
)
from .screens.unavailable import UnavailableScreen
from .screens.webapp import WebAppConsentScreen, WebAppScreen
from .signals import SignalTable
from .status import DaemonStatus, Indicator
from .tasks import Tasks, stop_when_ended
from .voice import Speaker
from .widgets import (  # noqa: F401 - the kv rules name their classes
    card_animation,
    even_grid,
    flowing_text,
    hinted_scroll,
    icons,
    nav_bar,
    quick_menu,
    rating,
    status_bar,
    step_content,
)
from .widgets.backdrop import Backdrop
from .widgets.buttons import KioskButton  # noqa: F401 - defines KioskButton for the kv rules
from .widgets.status_bar import StatusBar
from .window_image import window_png

_LOGGER = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent / "kv"
KV_FILES = (
    "flowing_text.kv",
    "hinted_scroll.kv",
    "common.kv",
    "status_bar.kv",
    "nav_bar.kv",
    "quick_menu.kv",
    "card_animation.kv",
    "attract.kv",
    "catalogue.kv",
    "item.kv",
    "steps.kv",
    "webapp.kv",
    "help.kv",
    "out_of_service.kv",
    "maintenance.kv",
    "unavailable.kv",
    "rating.kv",
    "kiosk.kv",
)
#: Frames to let pass after a change before a screenshot: label textures and the
#: layout are rebuilt on the frames that follow a property change.
SETTLE_FRAMES = 12

SCREENS: Dict[str, Callable[..., Screen]] = {
    "unavailable": UnavailableScreen,
    "attract": AttractScreen,
    "home": CatalogueScreen,
    "frequent": CatalogueScreen,
    "item": ItemScreen,
    "card": CardScreen,
    "confirm": ConfirmScreen,
    "consent": ConsentScreen,
    "face": FaceScreen,
    "capture": CaptureScreen,
    "progress": ProgressScreen,
    "preview": PreviewScreen,
    "printing": PrintingScreen,
    "done": DoneScreen,
    "error": ErrorScreen,
    "webapp": WebAppScreen,
    "webapp_consent": WebAppConsentScreen,
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
#: Screens of a citizen's session: they may show the masked holder or the document.
SESSION_SCREENS = (
    "card",
    "confirm",
    "consent",
    "face",
    "capture",
    "progress",
    "preview",
    "printing",
    "done",
    "webapp",
    "webapp_consent",
)
#: How a session ended that the citizen is told about, on the screen they land on.
ENDED = {
    "timeout": N_("Time ran out and the application ended. Your information has been cleared."),
    "walked_away": N_(
        "The application ended as nobody was at the kiosk. Your information has been cleared."
    ),
    "ui_gone": N_(
        "The kiosk's screen stopped during your application, which has ended. Your information"
        " has been cleared. Please start again."
    ),
}
NOTICE_SECONDS = 8.0
#: Screens where "home" leads nowhere: the navigation bar shows the kiosk's name instead.
HOME_LIKE = ("home", "attract", "out_of_service", "unavailable")
#: Screens "back" leaves, and where to.
BACK = {"item": "home", "frequent": "home", "help": "", "maintenance_login": "home"}


class KioskRoot(Backdrop):
    nav_bar = ObjectProperty(None)
    status_bar = ObjectProperty(None)
    quick_menu = ObjectProperty(None)
    screens = ObjectProperty(None)
    banner = StringProperty("")
    notice = StringProperty("")


class KioskApp(App):
    language = StringProperty(i18n.DEFAULT_LANGUAGE)
    voice_on = BooleanProperty(True)
    text_scale = NumericProperty(1.0)
    #: A citizen's application is under way: the quick menu offers no new one.
    in_citizen_session = BooleanProperty(False)
    #: Where the ID card reader is on this kiosk, in words (from the daemon's configuration).
    card_reader_text = StringProperty("")
    #: The integrator's picture of where the reader is (``Kiosk1.GetCardReaderImage``).
    card_reader_picture = ObjectProperty(None, allownone=True)

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
        self.journey = Journey(self, self.client, self.tasks)
        self.speaker: Speaker = speaker if speaker is not None else Speaker()
        self.idle = IdleController(self, idle_seconds)
        self.frame_rate = FrameRateGovernor()
        self.power = PowerController(self, self.client)
        self.indicators = IndicatorsController(self, self.client)
        self.catalogue = CatalogueController(self, self.client, self.tasks)
        self.maintenance = MaintenanceController(
            self,
            self.client,
            self.tasks,
            power=self.power,
            indicators=self.indicators,
            items=lambda: self.catalogue.items,
        )
        self.signals = SignalTable(
            {
                (SESSION_INTERFACE, "SessionChanged"): self._on_session_changed,
                (IDCARD_INTERFACE, "CardPresent"): lambda _body: self._show_card(True),
                (IDCARD_INTERFACE, "CardRemoved"): lambda _body: self._show_card(False),
            },
            self.catalogue.routes(),
            self.power.routes(),
            self.indicators.routes(),
            self.idle.routes(),
        )
        self._client_task: Optional[asyncio.Task[None]] = None
        self._screenshot = screenshot
        self.failed = False
        self.exit_status = 0
        self.status = DaemonStatus(available=False)
        self._back_to = "home"
        self.leave_dialog: Any = None
        self._notice_clear: Optional[ClockEvent] = None
        i18n.on_language_change(self._language_changed)

    # -- the frame ---------------------------------------------------------------------

    def build(self) -> KioskRoot:
        for name in KV_FILES:
            Builder.load_file(str(KV_DIR / name))
        root = KioskRoot()
        for name, screen in SCREENS.items():
            root.screens.add_widget(screen(name=name))
        root.status_bar.ids.staff.on_long_press = self.open_maintenance
        root.status_bar.render()
        self.show_screen("unavailable")
        return root

    def on_start(self) -> None:
        loop = asyncio.get_event_loop()
        # Installed once the window exists, so they replace SDL's own handlers.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        Window.bind(on_touch_down=self.idle.touched)
        self.frame_rate.start(Window)
        Clock.schedule_interval(self.idle.check, 1.0)
        self._client_task = loop.create_task(self.client.run())
        self._client_task.add_done_callback(stop_when_ended(self))
        # Kivy, the kv rules, the fonts and every screen now exist and stay for the
        # process's life. Out of the collector's sight, they no longer make each full
        # collection (which some tap's allocations trigger) a 60-180 ms pause.
        gc.collect()
        gc.freeze()

    def on_stop(self) -> None:
        gc.unfreeze()  # a stopped app's widgets are garbage like any other
        self.frame_rate.stop()
        self.speaker.stop()
        self.tasks.cancel_all()
        if self._client_task is not None:
            self._client_task.cancel()

    @property
    def current(self) -> str:
        return str(self.root.screens.current)

    @property
    def items(self) -> Dict[str, Item]:
        """The catalogue's items by code."""
        return self.catalogue.items

    def screen(self, name: str) -> Any:
        return self.root.screens.get_screen(name)

    def show_screen(self, name: str, where: str = "") -> None:
        root: Optional[KioskRoot] = self.root
        if root is None or root.screens is None:
            return
        if root.screens.current != name:
            _LOGGER.info("showing %s", name)
        root.screens.current = name
        self.idle.touched()
        root.nav_bar.where = where or _(WHERE.get(name, ""))
        root.nav_bar.can_go_back = name in BACK
        root.nav_bar.at_home = name in HOME_LIKE
        self.in_citizen_session = name in SESSION_SCREENS or self.journey.active
        if name == "card":
            self.screen("card").content.ids.animation.start()

    def indicate(self, entry: str, indicator: Indicator) -> None:
        self.root.status_bar.show(entry, indicator)

    def status_entries(self) -> List[Tuple[str, Indicator]]:
        bar: StatusBar = self.root.status_bar
        return bar.indicators()

    def set_banner(self, text: str) -> None:
        self.root.banner = text

    def in_session(self) -> bool:
        return self.journey.active

    def end_session(self) -> None:
        if self.journey.active:
            self.journey.end("home")

    def open_maintenance(self) -> None:
        self.maintenance.open()

    def daemon_available(self) -> bool:
        return self.status.available

    def say(self, text: str) -> None:
        if self.voice_on:
            self.speaker.say(text, self.language)

    def rest(self) -> None:
        """The attract screen; an operator's login ends here too, and any word to the last
        citizen (nobody is there to read it)."""
        self.maintenance.forget()
        self._clear_notice()
        self.show_screen("attract")

    def wake(self) -> None:
        if self.current == "attract":
            self.show_home()

    # -- daemon status and signals ------------------------------------------------------

    def show_status(self, status: DaemonStatus) -> None:
        was_available, self.status = self.status.available, status
        self._show_kiosk()
        self.indicators.show_daemon(status.available)
        if status.available and not was_available:
            _LOGGER.info(
                "daemon available: %d/%d services running", status.running, len(status.services)
            )
            self.tasks.spawn(self.refresh(), "refresh")
        elif not status.available:
            # The first answer, even "away", ends "connecting…".
            self.screen("unavailable").connecting = False
            self.end_session()
            self.maintenance.forget()
            if self.current != "unavailable":
                _LOGGER.info("showing service unavailable")
            self.show_screen("unavailable")

    async def _load_card_reader_picture(self) -> None:
        picture = None
        if self.status.info.has_card_reader_image:
            png = await self.client.read(KIOSK_INTERFACE, "GetCardReaderImage")
            if png and png[0]:
                picture = CoreImage(BytesIO(bytes(png[0])), ext="png").texture
        self.card_reader_picture = picture

    def _show_kiosk(self) -> None:
        """The hall in the navigation bar and where the card reader is, in the UI language."""
        info = self.status.info
        self.root.nav_bar.hall = info.hall_text(self.language) or self.status.kiosk_name
        self.card_reader_text = info.card_reader_hint(self.language)

    async def refresh(self) -> None:
        """Everything the screens show, read afresh (at start and whenever the daemon returns)."""
        await self.power.refresh()
        await self.indicators.refresh()
        await self.catalogue.refresh()
        await self._load_card_reader_picture()
        self.power.show()
        if self.current in ("unavailable", "out_of_service") and self.power.in_service:
            self.show_home()
            self._write_screenshot_once()
        await self.journey.resume()

    def on_daemon_signal(self, interface: str, member: str, body: List[Any]) -> None:
        self.signals.dispatch(interface, member, body)

    def _on_session_changed(self, body: List[Any]) -> None:
        self.journey.on_changed(body[0])

    def _show_card(self, present: bool) -> None:
        self.screen("card").content.ids.animation.card_present = present

    # -- the citizen's navigation -------------------------------------------------------

    def show_home(self) -> None:
        if not self.power.in_service:
            return
        self.show_screen("home")

    def open_item(self, code: str) -> None:
        item = self.items.get(code)
        if item is None:
            return
        self._clear_notice()
        screen: ItemScreen = self.screen("item")
        screen.show_item(item)
        name = item.shown(self.language).name
        self.show_screen("item", name)
        self.say(name)

    def start_session(self, code: str) -> None:
        if not self.power.accepting_sessions:
            self.show_problem(_(NOT_ACCEPTING), "")
            return
        self.tasks.spawn(self.journey.start(code), "start")

    def show_step(self, name: str, session: Session) -> None:
        self._clear_notice()  # the citizen is on to something new
        screen: Union[StepScreen, WebAppScreen] = self.screen(name)
        screen.render(session)
        item = self.items.get(session.item_code)
        self.show_screen(
            name, item.shown(self.language).name if item is not None else _("Applying")
        )

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None:
        screen = self.root.screens.current_screen
        if isinstance(screen, (StepScreen, WebAppScreen)):
            screen.show_countdown(seconds, fraction, warning)

    def show_preview_page(self, page: int, png: bytes) -> None:
        preview: PreviewScreen = self.screen("preview")
        if preview.page == page:
            preview.show_page(png)

    def show_camera_frame(self, jpeg: bytes, outline: Tuple[float, ...]) -> None:
        screen = self.root.screens.current_screen
        if isinstance(screen, CameraScreen):
            screen.show_frame(jpeg, outline)

    def show_problem(self, message: str, staff_code: str) -> None:
        """A failure outside a session: its message and one way on, back to home."""
        problem = Session(
            "",
            state="failed",
            message=message,
            staff_code=staff_code,
            choices=("home",),
            prompt=_("Sorry"),
        )
        self.show_step("error", problem)
        self.say(message)

    def session_over(self, ended: str) -> None:
        if self.current in (*SESSION_SCREENS, "error"):
            self.show_home()
        if ended in ENDED:
            self.show_notice(_(ENDED[ended]))
        self.tasks.spawn(self.catalogue.refresh_frequent(), "frequent items")

    def show_notice(self, text: str) -> None:
        """A word to the citizen on top of the screen for :data:`NOTICE_SECONDS`."""
        self.root.notice = text
        self.say(text)
        if self._notice_clear is not None:
            self._notice_clear.cancel()
        self._notice_clear = Clock.schedule_once(self._clear_notice, NOTICE_SECONDS)

    def _clear_notice(self, *_args: Any) -> None:
        self.root.notice = ""
        if self._notice_clear is not None:
            self._notice_clear.cancel()
            self._notice_clear = None

    def show_rating(self, reasons: Tuple[Tuple[str, str], ...], rated: bool) -> None:
        self.screen("done").content.ids.rating.offer(reasons, rated)

    def go_home(self, *, confirm: bool = True) -> None:
        # Not over a web app: the dialog would open behind the kiosk browser.
        if self.journey.active and confirm and self.current != "webapp":
            self._ask_to_leave()
            return
        self.end_session()
        self.maintenance.forget()
        self.show_home()

    def _ask_to_leave(self) -> None:
        dialog = Factory.LeaveDialog()

        def close(*_args: Any) -> None:
            # At once: a dialog fading out still takes every touch, and the citizen's next
            # tap (返回首页 again, right after 继续办理) would be lost.
            dialog.dismiss(animation=False)
            self.leave_dialog = None

        def leave(*_args: Any) -> None:
            close()
            self.go_home(confirm=False)

        dialog.ids.leave.bind(on_release=leave)
        dialog.ids.stay.bind(on_release=close)
        self.leave_dialog = dialog
        dialog.open()

    def go_back(self) -> None:
        target = BACK.get(self.current)
        if target is None:
            return
        self.show_screen(target or self._back_to)

    def show_help(self) -> None:
        if self.current != "help":
            self._back_to = self.current
        self.show_screen("help")
        self.say(_("Choose an item on the home screen."))

    def show_frequent(self) -> None:
        if not self.journey.active:
            self.catalogue.render()
            self.show_screen("frequent")

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
            self.catalogue.render()  # the tiles' markup carries a text size

    def toggle_language(self) -> None:
        i18n.set_language("en" if self.language == "zh_CN" else "zh_CN")

    def _language_changed(self, language: str) -> None:
        self.language = language
        self.title = _("Government Service Kiosk")
        if self.root is None:
            return
        self.root.status_bar.render()
        self._show_kiosk()
        self.catalogue.render()
        self.screen("item").render()
        self.power.show()
        current = self.root.screens.current_screen
        if isinstance(current, (StepScreen, WebAppScreen)):
            current.retranslate()
        if self.current == "item":
            self.root.nav_bar.where = self.screen("item").item_name
        elif isinstance(current, (StepScreen, WebAppScreen)):
            pass
        else:
            self.root.nav_bar.where = _(WHERE.get(self.current, ""))

    # -- ops (cn.govkiosk.UI1) ---------------------------------------------------------

    def citizen_on_screen(self) -> bool:
        return self.journey.active or self.current in SESSION_SCREENS

    def screenshot_png(self) -> bytes:
        """The whole window as the citizen sees it, dialogs included."""
        return window_png()

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
        partial.write_bytes(window_png())
        os.replace(partial, path)  # whoever waits for the file never sees half of it
        _LOGGER.info("screenshot written to %s", path)
