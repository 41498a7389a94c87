"""The citizen's session as the UI follows it: ``cn.govkiosk.Session1`` (docs/session-api.md).

The daemon runs the session; this class forwards the citizen's presses (start, a
choice, more time, cancel), shows each state the daemon sends on its screen, speaks
its prompt, and counts the step's time down. On timeout, walk-away or "home" it calls
``EndSession`` so the daemon wipes everything it read — the UI never held any of it
beyond the masked holder and the preview on screen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Dict, Optional, Protocol, Tuple

from dbus_next import DBusError
from kivy.clock import Clock, ClockEvent

from govkiosk.contract.names import (
    ITEM_UNAVAILABLE_ERROR,
    SESSION_ACTIVE_ERROR,
    SESSION_INTERFACE,
)

from .client import CallErrors, DaemonAwayError, DaemonClient
from .countdown import Countdown
from .i18n import _, language
from .model import Session, screen_for, warns_of_time
from .tasks import Tasks

_LOGGER = logging.getLogger(__name__)

#: A done screen the daemon set no limit for goes home after this long by itself.
DONE_SECONDS = 30.0
TICK = 0.25
#: The camera picture is fetched this often while a camera step shows it (15 per second).
CAMERA_INTERVAL = 1 / 15


class JourneyView(Protocol):
    """What the journey asks of the screens (implemented by ``KioskApp``)."""

    def show_step(self, name: str, session: Session) -> None: ...

    def show_countdown(self, seconds: int, fraction: float, warning: bool) -> None: ...

    def show_preview_page(self, page: int, png: bytes) -> None: ...

    def show_camera_frame(self, jpeg: bytes, outline: Tuple[float, ...]) -> None: ...

    def show_problem(self, message: str, staff_code: str) -> None: ...

    def say(self, text: str) -> None: ...

    def go_home(self, *, confirm: bool = True) -> None: ...

    def session_over(self, ended: str) -> None:
        """The session is over; ``ended`` says how when the citizen should be told
        (``timeout``, ``walked_away``, ``ui_gone``), else ""."""
        ...

    def show_rating(self, reasons: Tuple[Tuple[str, str], ...], rated: bool) -> None:
        """The 好差评 reasons to offer on the done screen, and whether it is rated."""
        ...


class Journey:
    def __init__(
        self,
        view: JourneyView,
        client: DaemonClient,
        tasks: Tasks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._view = view
        self._client = client
        self._tasks = tasks
        self._clock = clock
        self.session: Optional[Session] = None
        self._countdown = Countdown.start(-1, 0)
        self._limit = 0.0
        self._tick: Optional[ClockEvent] = None
        self._warned = False
        self._spoken = ""
        self._watching = ""  #: the session whose camera picture is being fetched
        self._rating_for = ""  #: the session whose 好差评 reasons were asked for
        self._ended = ""  #: the session the UI ended itself
        self._reasons_shown: Tuple[Tuple[str, str], ...] = ()

    @property
    def active(self) -> bool:
        return self.session is not None and bool(self.session.session_id)

    async def _call(self, member: str, signature: str = "", *body: Any) -> Any:
        reply = await self._client.call(SESSION_INTERFACE, member, signature, *body)
        return reply[0] if reply else None

    async def start(self, item_code: str) -> None:
        try:
            await self._call("StartSession", "ss", item_code, language())
            state = await self._call("GetSession")
        except DBusError as err:
            if err.type == SESSION_ACTIVE_ERROR:
                await self.resume()
                return
            _LOGGER.warning("session: not started: %s", err.type)
            if err.type == ITEM_UNAVAILABLE_ERROR:  # the daemon's reason is for ops
                text = _("This kiosk cannot handle this item now. Please go to a service counter.")
            else:
                text = err.text or _("This item cannot be handled now")
            self._view.show_problem(text, "")
            return
        except (DaemonAwayError, asyncio.TimeoutError) as err:
            _LOGGER.warning("session: not started: %s", err)
            self._view.show_problem(_("The service is not answering. Please try again."), "")
            return
        self.on_changed(state or {})

    async def resume(self) -> None:
        """Show the daemon's session, if any (after a UI or daemon restart); with none, what
        became of one that ended while this UI was away (``ui_gone``: the UI had stopped)."""
        try:
            state = await self._call("GetSession")
            notice = "" if state else await self._call("TakeNotice")
        except CallErrors as err:
            _LOGGER.debug("session: none to resume: %s", err)
            return
        if state:
            self.on_changed(state)
        elif notice:
            self._view.session_over(str(notice))

    def on_changed(self, state: Dict[str, Any]) -> None:
        if not state:
            if self.active:
                self._finish()
            return
        session = Session.from_dbus(state)
        if session.session_id == self._ended:
            return  # the UI ended it: the daemon's last word only confirms that
        previous = self.session
        if (
            previous is not None
            and previous.session_id == session.session_id
            and session.revision < previous.revision
        ):
            # A GetSession reply that the daemon sent before a SessionChanged we already
            # showed (both arrive in one read; the reply's await resumes later): older.
            return
        self.session = session
        if session.finished:
            self._finish(session.ended_by or ("timeout" if session.state == "expired" else ""))
            return
        same_time = (
            previous is not None
            and previous.session_id == session.session_id
            and (previous.step, previous.state) == (session.step, session.state)
            and previous.seconds_left == session.seconds_left
        )
        if not same_time:
            self._restart_countdown(session)
        self._view.show_step(screen_for(session), session)
        if session.state == "done" and self._rating_for != session.session_id:
            self._rating_for = session.session_id
            self._tasks.spawn(self._reasons(), "rating reasons")
        if session.camera and self._watching != session.session_id:
            self._watching = session.session_id
            self._tasks.spawn(self._camera(session.session_id), "camera")
        if session.prompt != self._spoken:
            self._spoken = session.prompt
            self._view.say(session.prompt or session.message)

    def _restart_countdown(self, session: Session) -> None:
        seconds = session.seconds_left
        if seconds < 0 and session.state == "done":
            seconds = DONE_SECONDS
        self._countdown = Countdown.start(seconds, self._clock())
        self._limit = max(seconds, 1.0)
        self._warned = False
        if self._tick is None:
            self._tick = Clock.schedule_interval(self.tick, TICK)
        self.tick()

    def tick(self, *_args: Any) -> None:
        now = self._clock()
        countdown = self._countdown
        session = self.session
        warning = countdown.warning(now) and session is not None and warns_of_time(session)
        fraction = countdown.left(now) / self._limit if countdown.limited else 1.0
        self._view.show_countdown(countdown.shown(now), fraction, warning)
        if warning and not self._warned and session is not None and session.extendable:
            self._warned = True
            self._view.say(_("Time is almost up. Need more time?"))
        if countdown.expired(now) and self.active:
            _LOGGER.info("session: the step's time ran out")
            self.end("timeout")

    def choose(self, choice: str) -> None:
        session = self.session
        if choice == "home" or session is None or not session.session_id:
            self._view.go_home(confirm=False)
        elif choice == "cancel":
            self._tasks.spawn(self._send("Cancel", "s", session.session_id), "cancel")
        elif choice == "finish":
            self.end("home")
        else:
            self._tasks.spawn(
                self._send("Choose", "ss", session.session_id, choice), f"choice {choice}"
            )

    def more_time(self) -> None:
        if self.active and self.session is not None:
            self._tasks.spawn(self._extend(self.session.session_id), "more time")

    async def _extend(self, session_id: str) -> None:
        try:
            seconds = await self._call("ExtendTime", "s", session_id)
        except CallErrors as err:
            _LOGGER.warning("session: more time refused: %s", err)
            return
        if self.session is not None and self.session.session_id == session_id:
            self._countdown = Countdown.start(float(seconds), self._clock())
            self._limit = max(float(seconds), 1.0)
            self._warned = False
            self.tick()

    async def _send(self, member: str, signature: str, *body: Any) -> None:
        try:
            await self._call(member, signature, *body)
        except DBusError as err:
            _LOGGER.warning("session: %s refused: %s", member, err.type)
            await self.resume()
        except (DaemonAwayError, asyncio.TimeoutError) as err:
            _LOGGER.warning("session: %s not sent: %s", member, err)

    def end(self, reason: str) -> None:
        """The UI ends the session (timeout, walked away, home): the daemon wipes it."""
        session = self.session
        if session is not None:
            self._ended = session.session_id
        self._finish(reason)
        if session is not None and session.session_id:
            self._tasks.spawn(
                self._send("EndSession", "ss", session.session_id, reason), f"end ({reason})"
            )

    def _finish(self, ended: str = "") -> None:
        self.session = None
        self._spoken = ""
        self._reasons_shown = ()
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self._view.session_over(ended)

    # -- 好差评 on the done screen --------------------------------------------------------

    async def _reasons(self) -> None:
        try:
            rows = await self._call("EvaluationReasons", "s", language())
        except CallErrors as err:
            _LOGGER.warning("session: no evaluation reasons: %s", err)
            rows = []
        self._reasons_shown = tuple((str(code), str(label)) for code, label in rows)
        self._view.show_rating(self._reasons_shown, False)

    def evaluate(self, level: int, reasons: Tuple[str, ...]) -> None:
        """The citizen's 好差评 for the session at its done step; sent once."""
        session = self.session
        if session is not None and session.state == "done":
            self._tasks.spawn(self._evaluate(session.session_id, level, reasons), "evaluate")

    async def _evaluate(self, session_id: str, level: int, reasons: Tuple[str, ...]) -> None:
        try:
            await self._call("Evaluate", "suas", session_id, level, list(reasons))
        except CallErrors as err:
            _LOGGER.warning("session: evaluation not recorded: %s", err)
            return
        if self.session is not None and self.session.session_id == session_id:
            self._view.show_rating(self._reasons_shown, True)

    def load_preview(self, page: int) -> None:
        if self.active and self.session is not None:
            self._tasks.spawn(self._preview(self.session.session_id, page), "preview")

    async def _preview(self, session_id: str, page: int) -> None:
        try:
            png = await self._call("GetPreview", "su", session_id, page)
        except CallErrors as err:
            _LOGGER.warning("session: no preview of page %d: %s", page + 1, err)
            return
        if self.session is not None and self.session.session_id == session_id:
            self._view.show_preview_page(page, bytes(png))

    async def _camera(self, session_id: str) -> None:
        """The camera picture, fetched while the session's step shows one."""
        try:
            while (
                self.session is not None
                and self.session.session_id == session_id
                and self.session.camera
            ):
                asked = self.session.choices  # the step's stage when the picture was asked for
                try:
                    jpeg, outline = await self._call("GetCameraFrame", "s", session_id)
                except DBusError as err:  # another session's id: the loop ends below
                    _LOGGER.debug("session: camera picture refused: %s", err.type)
                except (DaemonAwayError, asyncio.TimeoutError) as err:
                    _LOGGER.warning("session: camera picture not fetched: %s", err)
                    return
                else:
                    session = self.session
                    # Empty: no picture yet. The state may have moved on while it came
                    # (a live picture asked for just before the page went to review).
                    if (
                        jpeg
                        and session is not None
                        and session.session_id == session_id
                        and session.choices == asked
                    ):
                        self._view.show_camera_frame(bytes(jpeg), tuple(outline))
                await asyncio.sleep(CAMERA_INTERVAL)
        finally:
            if self._watching == session_id:
                self._watching = ""
