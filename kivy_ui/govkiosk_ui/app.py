"""The Kivy application: the frame, the screens, and the daemon client on one asyncio loop.

Kivy runs on asyncio (``App.async_run``), so the D-Bus client's callbacks arrive on the
same thread as Kivy's and may touch widgets directly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Callable, Optional

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import ObjectProperty
from kivy.uix.boxlayout import BoxLayout

from .client import DaemonClient
from .i18n import _
from .screens.home import HomeScreen
from .screens.unavailable import UnavailableScreen
from .status import DaemonStatus
from .widgets import status_bar  # noqa: F401 - defines StatusBar for the kv rules

_LOGGER = logging.getLogger(__name__)

KV_DIR = Path(__file__).parent / "kv"
KV_FILES = ("status_bar.kv", "home.kv", "unavailable.kv", "kiosk.kv")
#: Frames to let pass after a change before a screenshot: label textures and the
#: layout are rebuilt on the frames that follow a property change.
SETTLE_FRAMES = 3


class KioskRoot(BoxLayout):
    status_bar = ObjectProperty(None)
    screens = ObjectProperty(None)


class KioskApp(App):
    def __init__(self, bus_address: str, *, screenshot: Optional[Path] = None) -> None:
        super().__init__()
        self.title = _("Government Service Kiosk")
        self._client = DaemonClient(bus_address, self.show_status)
        self._client_task: Optional[asyncio.Task[None]] = None
        self._screenshot = screenshot
        self.failed = False

    def build(self) -> KioskRoot:
        for name in KV_FILES:
            Builder.load_file(str(KV_DIR / name))
        return KioskRoot()

    def on_start(self) -> None:
        loop = asyncio.get_event_loop()
        # Installed once the window exists, so they replace SDL's own handlers.
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        self._client_task = loop.create_task(self._client.run())
        self._client_task.add_done_callback(self._client_ended)

    def on_stop(self) -> None:
        if self._client_task is not None:
            self._client_task.cancel()

    def _client_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        # run() only returns by raising: a bug. Let the service manager restart the UI.
        _LOGGER.error("daemon client stopped", exc_info=task.exception())
        self.failed = True
        self.stop()

    def show_status(self, status: DaemonStatus) -> None:
        root: KioskRoot = self.root
        root.status_bar.show(status)
        screens = root.screens
        if status.available:
            home: HomeScreen = screens.get_screen("home")
            home.show(status)
            if screens.current != "home":
                _LOGGER.info(
                    "showing home: %d/%d services running", status.running, len(status.services)
                )
            screens.current = "home"
            if self._screenshot is not None:
                path, self._screenshot = self._screenshot, None
                self._after_frames(SETTLE_FRAMES, lambda: self._write_screenshot(path))
        else:
            unavailable: UnavailableScreen = screens.get_screen("unavailable")
            if screens.current != "unavailable" or unavailable.connecting:
                _LOGGER.info("showing service unavailable")
            unavailable.connecting = False
            screens.current = "unavailable"

    def _after_frames(self, frames: int, action: Callable[[], None]) -> None:
        # Counted in displayed frames: callbacks scheduled for "the next frame" from a
        # clock callback may run within the same frame.
        target = Clock.frames_displayed + frames

        def check(_dt: float) -> bool:
            if Clock.frames_displayed < target:
                return True
            action()
            return False

        Clock.schedule_interval(check, 0)

    def _write_screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.png")
        self.root.export_to_png(str(partial))
        os.replace(partial, path)  # whoever waits for the file never sees half of it
        _LOGGER.info("screenshot written to %s", path)
