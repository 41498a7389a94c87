"""The promotion screen's app: the daemon's playlist, or a notice while out of service.

It follows the daemon like the touch UI (:class:`~govkiosk_ui.client.DaemonClient`): the
playlist's version directory from ``cn.govkiosk.Promo1`` (``Directory``, then
``PlaylistChanged``), and whether the kiosk serves from ``cn.govkiosk.Power1``'s
``InService``. While the daemon is away or the kiosk is out of service, the notice
replaces the playlist. A version directory is complete when the daemon names it
(docs/promo.md), so it is read as it is.

Nothing is redrawn while an image is shown; a video's texture is updated at the video's
own frame rate, from :class:`~.video.VideoReader`'s thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional

import cv2
import numpy as np
from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from govkiosk.contract.names import POWER_INTERFACE, PROMO_INTERFACE
from govkiosk.contract.promo import PLAYLIST_FILE, Entry, PlaylistError, parse_playlist

from ..client import DaemonClient
from ..status import DaemonStatus
from ..tasks import stop_when_ended
from .sequence import Sequence
from .video import END, VideoReader

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[Any]  #: 8-bit BGR, top row first

_LOGGER = logging.getLogger(__name__)

PROPERTIES_CHANGED = "PropertiesChanged"
#: While no entry is active, look again this often (a time window may open).
IDLE_RECHECK = 30.0
#: After an entry that could not be shown, before the next one.
FAILED_PAUSE = 2.0
#: Kivy's loop rate while nothing moves (a picture, the notice): a change still shows
#: within 1/IDLE_FPS s; a video runs the loop at the program's full rate (main.MAX_FPS).
IDLE_FPS = 5.0
NOTICE_TITLE = "暂停服务"
#: Kivy wraps lines at spaces only: Chinese lines are broken here.
NOTICE_TEXT = "本机暂停服务\n请到其他自助终端或窗口办理\n\nService suspended"
NOTICE_BG = (0.08, 0.16, 0.33, 1)


def _ignore(_moving: bool) -> None:
    pass


class Stage(Widget):
    """A texture fitted inside the widget with its aspect kept, on black; a new picture
    fades in over the one before for ``fade`` seconds (0: at once)."""

    def __init__(
        self, fade: float = 0.0, on_motion: Callable[[bool], None] = _ignore, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.fade = fade
        self._on_motion = on_motion
        #: Kept here: a Rectangle without a texture answers with a 1×1 white one.
        self._texture: Optional[Texture] = None
        self._leaving: Optional[Texture] = None
        self._fading: Optional[ClockEvent] = None
        self._fade_start = 0.0
        with self.canvas:
            Color(0, 0, 0, 1)
            self._background = Rectangle(pos=self.pos, size=self.size)
            self._old_colour = Color(1, 1, 1, 0)
            self._old = Rectangle(pos=self.pos, size=(0, 0))
            self._new_colour = Color(1, 1, 1, 1)
            self._picture = Rectangle(pos=self.pos, size=(0, 0))
        self.bind(pos=self._layout, size=self._layout)

    def show(self, texture: Optional[Texture], fade: bool = False) -> None:
        self._stop_fading()
        if fade and self.fade > 0 and texture is not None and self._texture is not None:
            self._leaving = self._texture
            self._old.texture = self._leaving
            self._old_colour.a = 1.0
            self._new_colour.a = 0.0
            self._fade_start = Clock.get_time()
            self._fading = Clock.schedule_interval(self._fade_step, 0)
            self._on_motion(True)
        self._texture = texture
        self._picture.texture = texture
        self._layout()

    @property
    def fading(self) -> bool:
        return self._fading is not None

    def changed(self) -> None:
        """The texture's pixels changed (a video frame): draw again."""
        self.canvas.ask_update()

    def _fade_step(self, _dt: float) -> None:
        done = min(1.0, (Clock.get_time() - self._fade_start) / self.fade)
        self._new_colour.a = done
        self._old_colour.a = 1.0 - done
        if done >= 1.0:
            self._stop_fading()

    def _stop_fading(self) -> None:
        if self._fading is None:
            return
        self._fading.cancel()
        self._fading = None
        self._leaving = None
        self._old_colour.a = 0.0
        self._new_colour.a = 1.0
        self._old.size = (0, 0)
        self._on_motion(False)

    def _layout(self, *_args: Any) -> None:
        self._background.pos, self._background.size = self.pos, self.size
        self._fit(self._picture, self._texture)
        self._fit(self._old, self._leaving)

    def _fit(self, rectangle: Rectangle, texture: Optional[Texture]) -> None:
        if texture is None or not self.width or not self.height:
            rectangle.size = (0, 0)
            return
        scale = min(self.width / texture.width, self.height / texture.height)
        width, height = texture.width * scale, texture.height * scale
        rectangle.size = (width, height)
        rectangle.pos = (self.x + (self.width - width) / 2, self.y + (self.height - height) / 2)


class Notice(Label):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(halign="center", valign="middle", **kwargs)
        with self.canvas.before:
            Color(*NOTICE_BG)
            self._background = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._layout, size=self._layout)

    def _layout(self, *_args: Any) -> None:
        self._background.pos, self._background.size = self.pos, self.size
        self.text_size = self.size
        self.font_size = max(20, min(self.width, self.height) / 20)
        self.markup = True
        self.text = (
            f"[size={int(self.font_size * 1.6)}][b]{NOTICE_TITLE}[/b][/size]\n\n{NOTICE_TEXT}"
        )


def texture_of(frame: Image) -> Texture:
    """A BGR image (top row first) as a texture."""
    height, width = frame.shape[:2]
    texture = Texture.create(size=(width, height), colorfmt="bgra")
    texture.flip_vertical()
    blit(texture, frame)
    return texture


def blit(texture: Texture, frame: Image) -> None:
    # Four bytes a pixel: rows of any width stay aligned for GL's unpacking.
    pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    texture.blit_buffer(pixels.tobytes(), colorfmt="bgra", bufferfmt="ubyte")


def read_image(path: Path) -> Image:
    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path.name}: not a decodable image")
    return image


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("promo: an entry failed", exc_info=task.exception())


class PromoApp(App):
    title = "govkiosk promo"

    def __init__(self, bus_address: str, fade: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fade = fade
        self.client = DaemonClient(bus_address, self._on_status, self._on_signal)
        self.failed = False
        self.daemon_available = False
        self.in_service = True
        self.playlist_dir = ""
        self.shown = ""  # "notice", "playlist" or "" before the first decision
        self._sequence: Optional[Sequence] = None
        self._timer: Optional[ClockEvent] = None
        self._video: Optional[VideoReader] = None
        self._video_texture: Optional[Texture] = None
        self._video_frames = 0
        self._video_started = 0.0
        self._client_task: Optional[asyncio.Task[None]] = None
        self._loading: Optional[asyncio.Task[None]] = None
        self._generation = 0
        self._configured_fps: Optional[float] = None

    def build(self) -> Widget:
        root = FloatLayout()
        self.stage = Stage(self.fade, self._on_motion, size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        self.notice = Notice(size_hint=(1, 1), pos_hint={"x": 0, "y": 0})
        root.add_widget(self.stage)
        return root

    def on_start(self) -> None:
        loop = asyncio.get_event_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        Window.clearcolor = (0, 0, 0, 1)
        self._client_task = loop.create_task(self.client.run())
        self._client_task.add_done_callback(stop_when_ended(self))
        self._decide()

    def on_stop(self) -> None:
        self._halt()
        if self._client_task is not None:
            self._client_task.cancel()

    # -- following the daemon ------------------------------------------------------------

    def _on_status(self, status: DaemonStatus) -> None:
        if status.available and not self.daemon_available:
            self.daemon_available = True
            self._spawn_refresh()
        elif not status.available and self.daemon_available:
            self.daemon_available = False
            self._decide()
        elif not status.available:
            self._decide()

    def _spawn_refresh(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
        self._loading = asyncio.get_event_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        power = await self.client.read_properties(POWER_INTERFACE)
        promo = await self.client.read_properties(PROMO_INTERFACE)
        self.in_service = bool(power.get("InService", True))
        self._take_directory(str(promo.get("Directory", "")))
        self._decide()

    def _on_signal(self, interface: str, member: str, body: List[Any]) -> None:
        if interface == PROMO_INTERFACE and member == "PlaylistChanged":
            self._take_directory(str(body[1]))
            self._decide()
        elif member == PROPERTIES_CHANGED and body and body[0] == POWER_INTERFACE:
            changed = dict(body[1])
            if "InService" in changed:
                self.in_service = bool(changed["InService"])
                self._decide()

    def _take_directory(self, directory: str) -> None:
        if directory == self.playlist_dir:
            return
        self.playlist_dir = directory
        self._sequence = None
        if self.shown == "playlist":
            self.shown = ""  # play the new version from its start

    # -- what is on screen ---------------------------------------------------------------

    def _decide(self) -> None:
        if not self.daemon_available or not self.in_service:
            self._show_notice(
                "the daemon is away" if not self.daemon_available else "out of service"
            )
        elif self.shown != "playlist":
            self._play()

    def _show_notice(self, reason: str) -> None:
        if self.shown == "notice":
            return
        self._halt()
        self.shown = "notice"
        self.stage.show(None)
        if self.notice.parent is None:
            self.root.add_widget(self.notice)
        _LOGGER.info("promo: notice shown (%s)", reason)

    def _play(self) -> None:
        self._halt()
        self.shown = "playlist"
        if self.notice.parent is not None:
            self.root.remove_widget(self.notice)
        if self._sequence is None:
            self._sequence = self._load_sequence()
        self._advance()

    def _load_sequence(self) -> Optional[Sequence]:
        if not self.playlist_dir:
            _LOGGER.info("promo: no playlist installed")
            return None
        path = Path(self.playlist_dir) / PLAYLIST_FILE
        try:
            playlist = parse_playlist(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, PlaylistError) as err:
            _LOGGER.warning("promo: %s cannot be played: %s", path, err)
            return None
        _LOGGER.info("promo: playlist %s loaded from %s", playlist.version, self.playlist_dir)
        return Sequence(playlist)

    def _pace(self, fps: Optional[float]) -> None:
        """How often Kivy's loop wakes: ``None`` for its configured rate.

        Kivy keeps its rate in a private attribute; without it, the configured rate stays.
        """
        if self._configured_fps is None:
            self._configured_fps = getattr(Clock, "_max_fps", None)
        if self._configured_fps is not None:
            Clock._max_fps = float(fps if fps is not None else self._configured_fps)

    def _on_motion(self, moving: bool) -> None:
        """A fade runs Kivy's loop at full rate; after it, the rate of what is shown."""
        self._pace(None if moving or self._video is not None else IDLE_FPS)

    def _halt(self) -> None:
        """Stop whatever plays: timers, the video, a picture being read."""
        self._generation += 1
        self._pace(None if self.stage.fading else IDLE_FPS)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._video is not None:
            self._video.stop()
            self._video = None

    def _advance(self, *_args: Any) -> None:
        self._halt()
        if self.shown != "playlist":
            return
        entry = self._sequence.next() if self._sequence is not None else None
        if entry is None:
            self.stage.show(None)
            self._timer = Clock.schedule_once(self._advance, IDLE_RECHECK)
            return
        generation = self._generation
        task = asyncio.get_event_loop().create_task(self._open(entry, generation))
        task.add_done_callback(_log_failure)

    async def _open(self, entry: Entry, generation: int) -> None:
        assert self._sequence is not None
        path = Path(self.playlist_dir) / entry.file
        loop = asyncio.get_event_loop()
        try:
            if entry.kind == "image":
                image = await loop.run_in_executor(None, read_image, path)
            else:
                video = await loop.run_in_executor(None, VideoReader, path)
        except OSError as err:
            if generation == self._generation:
                _LOGGER.warning("promo: %s: %s", entry.name, err)
                self._timer = Clock.schedule_once(self._advance, FAILED_PAUSE)
            return
        if generation != self._generation:  # halted while it was read
            if entry.kind == "video":
                video.stop()
            return
        version = self._sequence.playlist.version
        if entry.kind == "image":
            self.stage.show(texture_of(image), fade=True)
            self._timer = Clock.schedule_once(self._advance, entry.shown_for or 0)
        else:
            self._video = video
            self._video_texture = None
            self._video_frames = 0
            self._video_started = Clock.get_time()
            self._pace(None)
            video.start()
            self._timer = Clock.schedule_interval(self._next_frame, 1.0 / video.fps)
            if entry.shown_for is not None:
                Clock.schedule_once(self._cap(generation), entry.shown_for)
        _LOGGER.info("promo: showing %s/%s (%s)", version, entry.name, entry.kind)

    def _cap(self, generation: int) -> Any:
        def cap(_dt: float) -> None:
            if generation == self._generation:
                self._advance()

        return cap

    def _next_frame(self, _dt: float) -> None:
        """The frame due now by the video's clock; late frames are dropped, not slowed."""
        video = self._video
        if video is None:
            return
        due = int((Clock.get_time() - self._video_started) * video.fps)
        frame = None
        while self._video_frames <= due:
            try:
                frame = video.frames.get_nowait()
            except queue.Empty:  # the decoder is late: show what came
                break
            self._video_frames += 1
            if frame is END:
                self._advance()
                return
        if frame is None:
            return
        size = (frame.shape[1], frame.shape[0])
        if self._video_texture is None or self._video_texture.size != size:
            self._video_texture = texture_of(frame)
            self.stage.show(self._video_texture, fade=True)
        else:
            blit(self._video_texture, frame)
            self.stage.changed()
