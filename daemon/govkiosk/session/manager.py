"""The citizen session's owner: one session at a time, its timers and its end.

:class:`SessionManager` starts a session for a published item (refused while the
power policy is not accepting sessions, §6.1), runs the item's flow in a task, takes
the citizen's choices, "more time" and cancellation from the UI, and ends the session
when the flow finishes, the citizen cancels or walks away (the presence sensor's
``PersonLeft`` not followed by ``PersonArrived`` within ``walkaway_timeout``), or the
session's overall time runs out.

However it ends, the end is the same (:meth:`SessionManager._finish`): an unprinted
A4 job is cancelled and purged, the last state is published with nothing personal in
it, the personal data is wiped, the log guard's session terms are cleared, and a
non-personal :class:`~.session.SessionEnded` goes on the bus for ops counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..bus import EventBus
from ..contract.logs import sensitive_terms
from ..devices.presence.events import PersonArrived, PersonLeft
from ..items.catalogue import Item
from ..power.service import ShutdownStageChanged
from .cameras import item_ready, webapp_ready
from .errors import (
    AlreadyEvaluatedError,
    BadRequestError,
    Declined,
    Interrupted,
    ItemUnavailableError,
    NoPreviewError,
    NotAcceptingError,
    NotAChoiceError,
    NotDoneError,
    SessionActiveError,
    StepExpired,
    WrongSessionError,
)
from .flow import Services, Step, StepContext, run_flow
from .interrupted import Facts, Marker
from .settings import SessionSettings
from .state import ENDED_BY, STOPPED, Outcome, Session, SessionEnded, State
from .steps import Flow

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[Dict[str, Any]], None]
CameraView = Tuple["NDArray[np.uint8]", bool, Tuple[float, ...]]
LANGUAGES = ("zh_CN", "en")
END_REASONS = {
    "timeout": Outcome.EXPIRED,
    "walked_away": Outcome.WALKED_AWAY,
    "home": Outcome.HOME,
}


#: How long after a session ended unseen the returning UI still tells of it (seconds): the
#: citizen may have waited; the next one, much later, need not hear of it.
NOTICE_WINDOW = 300.0


class _Running:
    """A session with its task, context and the request that ends it."""

    def __init__(self, session: Session, context: StepContext) -> None:
        self.session = session
        self.context = context
        self.end: asyncio.Future[Tuple[Outcome, str]] = asyncio.get_running_loop().create_future()
        self.task: Optional[asyncio.Task[None]] = None
        self.timers: List[asyncio.TimerHandle] = []
        self.walkaway: Optional[asyncio.TimerHandle] = None
        self.webapp = False  #: a web-app item: no done screen after its page


class SessionManager:
    def __init__(
        self,
        bus: EventBus,
        services: Services,
        settings: Callable[[], SessionSettings],
        listener: Listener,
    ) -> None:
        self._bus = bus
        self._services = services
        self._settings = settings
        self._listener = listener
        self._current: Optional[_Running] = None
        self._reserved = False  # an item test runs (.itemtest): no session starts
        self.accepting = True
        #: Where the running session's non-personal facts are kept for after a crash.
        self.marker: Optional[Marker] = None
        self._wall_started = 0.0
        #: Why the last session ended without the UI seeing it, and when (loop time):
        #: what the UI tells the next citizen when it comes back (:meth:`take_notice`).
        self._notice: Optional[Tuple[str, float]] = None
        bus.subscribe(ShutdownStageChanged, self._on_stage)
        bus.subscribe(PersonLeft, self._on_left)
        bus.subscribe(PersonArrived, self._on_arrived)

    async def end_current(self) -> None:
        """The daemon stops: the running session (if any) ends and is wiped."""
        if self._current is not None:
            await self._end(self._current, Outcome.CANCELLED, "session.stopped")

    async def ui_gone(self) -> None:
        """The UI's process left the bus (it died or was killed): nobody can see or
        answer the session any more, so it ends and is wiped now, not at its timeout."""
        if self._current is not None:
            _LOGGER.warning("session %s: the UI is gone", self._current.session.id[:8])
            await self._end(self._current, Outcome.CANCELLED, "session.ui_gone")
            self._notice = ("ui_gone", asyncio.get_running_loop().time())

    def take_notice(self) -> str:
        """Once: why the last session ended while no UI was there to show it (``ui_gone``),
        if that was within :data:`NOTICE_WINDOW` seconds; else ``""``. The UI asks when it
        comes back, so the citizen who was at the kiosk learns the application ended and
        that their information was cleared."""
        notice, self._notice = self._notice, None
        if notice is None or asyncio.get_running_loop().time() - notice[1] > NOTICE_WINDOW:
            return ""
        return notice[0]

    # Events ------------------------------------------------------------------------
    def _on_stage(self, event: ShutdownStageChanged) -> None:
        self.accepting = event.accepting_sessions

    def _on_left(self, _event: PersonLeft) -> None:
        running = self._current
        if running is not None and running.walkaway is None:
            loop = asyncio.get_running_loop()
            running.walkaway = loop.call_later(
                self._settings().walkaway_timeout, self._request_end, running, Outcome.WALKED_AWAY
            )

    def _on_arrived(self, _event: PersonArrived) -> None:
        running = self._current
        if running is not None and running.walkaway is not None:
            running.walkaway.cancel()
            running.walkaway = None

    @property
    def busy(self) -> bool:
        """A citizen's session is running."""
        return self._current is not None

    @contextlib.contextmanager
    def reserved(self) -> Iterator[None]:
        """No session starts while the body runs (an item test, :mod:`.itemtest`)."""
        if self._current is not None:
            raise SessionActiveError("a session is already running")
        self._reserved = True
        try:
            yield
        finally:
            self._reserved = False

    # The API -----------------------------------------------------------------------
    def availability(self, item: Item) -> Tuple[bool, str]:
        """Whether ``item`` can run on this kiosk now; the reason when not."""
        services = self._services
        if item.kind == "webapp":
            return webapp_ready(
                item, services.webapps is not None, services.faces, services.captures
            )
        return item_ready(item, services.faces, services.captures)

    def state(self) -> Dict[str, Any]:
        if self._current is None:
            return {}
        return self._current.session.view(asyncio.get_running_loop().time())

    async def start(self, item: Item, language: str) -> str:
        if language not in LANGUAGES:
            raise BadRequestError(f"language must be one of {', '.join(LANGUAGES)}")
        if not self.accepting:
            raise NotAcceptingError("the kiosk is not taking new sessions now")
        if self._current is not None:
            raise SessionActiveError("a session is already running")
        if self._reserved:
            raise SessionActiveError("an item test is running; the kiosk is free in a moment")
        ready, why = self.availability(item)
        if not ready:
            raise ItemUnavailableError(f"item {item.code} cannot run now: {why}")
        loop = asyncio.get_running_loop()
        settings = self._settings()
        flow = Flow(item)
        steps = flow.steps()
        session = Session(item.code, language, len(steps) + 1, loop.time())
        running = _Running(
            session, StepContext(session, self._services, settings, self._notify, self._recorded)
        )
        self._current = running
        running.webapp = item.kind == "webapp"
        running.timers.append(
            loop.call_later(settings.session_timeout, self._request_end, running, Outcome.EXPIRED)
        )
        running.task = asyncio.ensure_future(self._drive(running, steps))
        self._wall_started = time.time()
        self._mark(session)
        _LOGGER.info("session %s: started for %s", session.id[:8], item.code)
        return session.id

    def _check(self, session_id: str) -> _Running:
        running = self._current
        if running is None or running.session.id != session_id:
            raise WrongSessionError("no such session is running")
        return running

    async def choose(self, session_id: str, choice: str) -> bool:
        running = self._check(session_id)
        if choice not in running.session.choices:
            raise NotAChoiceError(f"{choice!r} is not a choice now")
        if choice == "cancel":
            await self._end(running, Outcome.CANCELLED, "")
            return True
        return running.context.answer(choice)

    def extend(self, session_id: str) -> float:
        running = self._check(session_id)
        left = running.context.extend()
        # The session's own limit moves with the step's.
        for timer in running.timers:
            timer.cancel()
        loop = asyncio.get_running_loop()
        ends = (
            running.session.started
            + self._settings().session_timeout
            + (running.session.extensions * self._settings().extend_by)
        )
        running.timers = [
            loop.call_at(ends, self._request_end, running, Outcome.EXPIRED),
        ]
        return left

    async def cancel(self, session_id: str) -> bool:
        await self._end(self._check(session_id), Outcome.CANCELLED, "")
        return True

    async def end(self, session_id: str, reason: str) -> bool:
        running = self._check(session_id)
        if reason not in END_REASONS:
            raise BadRequestError(f"reason must be one of {', '.join(END_REASONS)}")
        await self._end(running, END_REASONS[reason], "")
        return True

    def evaluate(self, session_id: str, record: Callable[[str], None]) -> bool:
        """The citizen rates the current session at its ``done`` step, once: ``record``
        is called with the item's code (and may refuse the rating by raising); then the
        session is marked ``evaluated``."""
        session = self._check(session_id).session
        if session.step != "done" or session.state is not State.DONE:
            raise NotDoneError("a session is rated at its done step only")
        if session.evaluated:
            raise AlreadyEvaluatedError("this session has been rated already")
        record(session.item_code)
        session.evaluated = True
        self._notify()
        return True

    def camera_view(self, session_id: str) -> Optional[CameraView]:
        """What the camera step shows now: the frame (or captured page), whether it is
        shown mirrored, and the page outline; ``None`` when there is no picture (yet)."""
        personal = self._check(session_id).session.personal
        if personal.view is None:
            return None
        return personal.view.copy(), personal.mirrored, personal.outline

    def preview(self, session_id: str, page: int) -> bytes:
        previews = self._check(session_id).session.personal.previews
        if not 0 <= page < len(previews):
            raise NoPreviewError(f"no page {page}: the document has {len(previews)} preview pages")
        return bytes(previews[page])

    # Running and ending ------------------------------------------------------------
    def _notify(self) -> None:
        if self._current is not None:
            self._current.session.revision += 1
            self._mark(self._current.session)
            self._listener(self.state())

    async def _recorded(self) -> None:
        """Every marker write handed over so far is on disk (fsync'd)."""
        if self.marker is not None:
            await self.marker.settled()

    def _mark(self, session: Session) -> None:
        if self.marker is not None:
            job = session.personal.a4_job
            self.marker.write(
                Facts(
                    session.id[:8],
                    session.item_code,
                    self._wall_started,
                    session.step,
                    job.cups_id if job is not None else None,
                )
            )

    def _request_end(self, running: _Running, outcome: Outcome) -> None:
        if not running.end.done():
            running.end.set_result((outcome, ""))

    async def _end(self, running: _Running, outcome: Outcome, code: str) -> None:
        """End ``running`` (if it is still running) and wait until it is wiped."""
        if not running.end.done():
            running.end.set_result((outcome, code))
        if running.task is not None:
            await asyncio.wait({running.task})

    async def _drive(self, running: _Running, steps: Sequence[Tuple[str, Step]]) -> None:
        flow = asyncio.ensure_future(self._flow(running, steps))
        # Unless the flow or an end request says otherwise: the daemon is stopping.
        outcome, code = Outcome.CANCELLED, "session.stopped"
        try:
            await asyncio.wait({flow, running.end}, return_when=asyncio.FIRST_COMPLETED)
            if running.end.done():
                outcome, code = running.end.result()
            elif flow.exception() is None:
                outcome, code = flow.result()
            else:
                _LOGGER.error("session: the flow failed", exc_info=flow.exception())
                outcome, code = Outcome.FAILED, "session.internal"
        finally:
            if not flow.done():
                flow.cancel()
                await asyncio.wait({flow})
            await self._finish(running, outcome, code)

    async def _flow(
        self, running: _Running, steps: Sequence[Tuple[str, Step]]
    ) -> Tuple[Outcome, str]:
        try:
            return await run_flow(running.context, steps, done_screen=not running.webapp)
        except StepExpired:
            return Outcome.EXPIRED, ""
        except Declined:
            return Outcome.CANCELLED, ""
        except Interrupted as interrupted:
            return Outcome.CANCELLED, interrupted.code

    async def _finish(self, running: _Running, outcome: Outcome, code: str) -> None:
        session = running.session
        for timer in running.timers:
            timer.cancel()
        if running.walkaway is not None:
            running.walkaway.cancel()
        job = session.personal.a4_job
        try:
            if job is not None and not job.printed:
                await self._services.a4.discard(job)
        finally:
            loop = asyncio.get_running_loop()
            duration = loop.time() - session.started
            session.state = outcome.final_state
            session.error_code = code
            session.ended_by = STOPPED if code == "session.stopped" else ENDED_BY[outcome]
            session.revision += 1  # the final state is newer than every one before it
            session.choices, session.deadline, session.extendable = (), None, False
            session.holder = ""
            session.personal.wipe()
            sensitive_terms.clear()
            if self.marker is not None:
                self.marker.clear()
            self._listener(session.view(loop.time()))
            self._current = None
            self._bus.publish(
                SessionEnded(session.item_code, outcome.value, session.error_code, duration)
            )
            _LOGGER.info(
                "session %s: ended %s%s after %.1f s",
                session.id[:8],
                outcome.value,
                f" ({session.error_code})" if session.error_code else "",
                duration,
            )
