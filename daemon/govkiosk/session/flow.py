"""The flow engine: an item's journey as a sequence of async steps (§7.1.1 办理流程).

A step (:mod:`.steps`) does one thing — read the card, ask for consent, query the
department, check the seal, show the preview, print — through a :class:`StepContext`,
which is all it knows of the session: it can work (``work``: the kiosk is busy, with a
time limit), ask the citizen (``ask``: a prompt, the choices, a deadline the citizen
may extend) and fail with an ops code (:class:`StepFailed`).

:func:`run_flow` runs the steps in order. A failure shows the code's citizen message
(:mod:`.failures`) with its next action: ``retry`` runs the failed step again (the
step keeps what it already did, so a print is never sent twice), anything else ends
the session ``failed``. A citizen wait that runs out raises :class:`StepExpired` and
the session ends ``expired``; declining consent raises :class:`Declined`. After the
last step the ``done`` screen waits for ``finish`` (or its time limit).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, Optional, Sequence, Set, Tuple, TypeVar

from ..activity import Activity
from ..backends.routing import Router
from ..bus import EventBus
from ..items.catalogue import Item
from ..kiosk import KioskSection
from ..printing.a4 import A4Printer
from ..printing.receipts import ReceiptPrinters
from ..security.seal import SealVerifier
from ..timeouts import wait_for
from .cameras import CaptureCheck, FaceCheck
from .errors import NotExtendableError, StepExpired, StepFailed
from .failures import failure_for
from .prompts import prompt
from .settings import SessionSettings
from .state import Outcome, Session, State

T = TypeVar("T")


@dataclass
class Services:
    """What steps use besides the session; built once by the daemon's wiring."""

    bus: EventBus
    activity: Activity
    kiosk_id: str
    kiosk: Callable[[], KioskSection]
    router: Callable[[], Router]
    verifier: Callable[[], SealVerifier]
    a4: A4Printer
    receipts: ReceiptPrinters
    receipt_width: Callable[[], int] = lambda: 48
    #: Face verification and the document camera; ``None`` where the kiosk has none.
    faces: Optional[FaceCheck] = None
    captures: Optional[CaptureCheck] = None
    clock: Callable[[], datetime] = datetime.now
    #: Runs a web-app item's page (its ``webapp`` step, :mod:`govkiosk.webapps.session`);
    #: ``None`` where web apps are not set up.
    webapps: Optional[Callable[[StepContext, Item], Awaitable[None]]] = None


class StepContext:
    """One session's view for its steps; the engine's only link to the session's state."""

    def __init__(
        self,
        session: Session,
        services: Services,
        settings: SessionSettings,
        notify: Callable[[], None],
        record: Optional[Callable[[], Awaitable[None]]] = None,
    ) -> None:
        self.session = session
        self.services = services
        self.settings = settings
        self._notify = notify
        self._record = record
        self._loop = asyncio.get_running_loop()
        self._answer: Optional[asyncio.Future[str]] = None
        self._moved = asyncio.Event()

    # The engine --------------------------------------------------------------------
    def begin(self, step: str, index: int) -> None:
        session = self.session
        session.step, session.step_index = step, index
        session.error_code = session.message = ""
        session.progress = 0.0

    def answer(self, choice: str) -> bool:
        """The citizen's choice (already checked against ``session.choices``)."""
        if self._answer is None or self._answer.done():
            return False
        self._answer.set_result(choice)
        return True

    def extend(self) -> float:
        """ "More time": the deadline moves by ``extend_by``; returns the seconds left."""
        session = self.session
        now = self._loop.time()
        if self._answer is None or session.deadline is None:
            raise NotExtendableError("nothing is waiting for the citizen now")
        if session.extensions >= self.settings.max_extensions:
            raise NotExtendableError("no more extensions for this session")
        session.extensions += 1
        session.deadline = max(session.deadline, now) + self.settings.extend_by
        session.extendable = False
        self._moved.set()
        self._notify()
        return session.deadline - now

    # For steps ---------------------------------------------------------------------
    def text(self, key: str) -> str:
        return prompt(key, self.session.language)

    def say(self, key: str) -> None:
        """A new prompt for the step in progress (the face step's guidance)."""
        text = self.text(key)
        if text != self.session.prompt:
            self.session.prompt = text
            self._notify()

    async def recorded(self) -> None:
        """The session's state as it is now, on disk before this returns (the
        interrupted-session marker): for what a crash must not lose, a CUPS job id."""
        self._notify()
        if self._record is not None:
            await self._record()

    def refresh(self) -> None:
        """Announce the session's state after a change made to it directly."""
        self._notify()

    def progress(self, value: float) -> None:
        if value != self.session.progress:
            self.session.progress = value
            self._notify()

    async def work(
        self,
        key: str,
        job: Awaitable[T],
        timeout: float,
        timeout_code: str,
        *,
        cancellable: bool = True,
    ) -> T:
        """The kiosk is busy for at most ``timeout`` seconds; the citizen may only cancel,
        and not even that once paper is moving (``cancellable`` false)."""
        session = self.session
        session.state, session.prompt = State.RUNNING, self.text(key)
        session.choices = ("cancel",) if cancellable else ()
        session.deadline, session.extendable = None, False
        self._notify()
        try:
            return await wait_for(job, timeout)
        except asyncio.TimeoutError:
            raise StepFailed(timeout_code, f"not finished within {timeout:g} s") from None

    async def ask(
        self,
        text: str,
        choices: Sequence[str],
        timeout: float,
        *,
        until: Optional[asyncio.Future[Any]] = None,
        state: State = State.WAITING,
        extendable: bool = True,
    ) -> str:
        """Wait for one of ``choices`` (or for ``until`` to complete: then ``""``).

        ``state`` is what the UI is told: ``waiting``, or ``failed``/``done`` for those
        screens. "More time" is offered once ``extend_offer`` seconds are left (unless
        ``extendable`` is false: a wait that more time cannot help); past the deadline
        :class:`StepExpired` is raised.
        """
        session = self.session
        session.state, session.prompt, session.choices = state, text, tuple(choices)
        session.deadline = self._loop.time() + timeout
        session.extendable = False
        self._answer = answer = self._loop.create_future()
        self._notify()
        try:
            return await self._wait(answer, until, extendable)
        finally:
            self._answer = None
            answer.cancel()

    async def _wait(
        self, answer: asyncio.Future[str], until: Optional[asyncio.Future[Any]], extendable: bool
    ) -> str:
        session = self.session
        settings = self.settings
        while True:
            assert session.deadline is not None
            left = session.deadline - self._loop.time()
            if left <= 0:
                raise StepExpired(f"step {session.step} expired")
            offering = (
                extendable
                and session.extensions < settings.max_extensions
                and not session.extendable
            )
            if offering and left <= settings.extend_offer:
                session.extendable = True
                self._notify()
            wake = left - settings.extend_offer if left > settings.extend_offer else left
            self._moved.clear()
            moved = asyncio.ensure_future(self._moved.wait())
            waits: Set[asyncio.Future[Any]] = {answer, moved}
            if until is not None:
                waits.add(until)
            try:
                await asyncio.wait(waits, timeout=wake, return_when=asyncio.FIRST_COMPLETED)
            finally:
                moved.cancel()
            if answer.done():
                return answer.result()
            if until is not None and until.done():
                return ""

    async def failed(self, failure: StepFailed) -> str:
        """Show the failure; the citizen's answer, or ``finish`` when none comes in time."""
        session = self.session
        entry = failure_for(failure.code)
        session.error_code = failure.code
        session.message = failure.citizen_message or entry.message(session.language)
        try:
            return await self.ask(
                session.message, entry.choices, self.settings.answer_timeout, state=State.FAILED
            )
        except StepExpired:
            return "finish"


Step = Callable[[StepContext], Awaitable[None]]


async def run_flow(
    ctx: StepContext, steps: Sequence[Tuple[str, Step]], *, done_screen: bool = True
) -> Tuple[Outcome, str]:
    """Run ``steps`` in order; the session's outcome and its error code. Without
    ``done_screen`` (a web app, whose page said goodbye) the session ends after them."""
    for index, (name, step) in enumerate(steps):
        ctx.begin(name, index)
        while True:
            try:
                await step(ctx)
                break
            except StepFailed as failure:
                if await ctx.failed(failure) != "retry":
                    return Outcome.FAILED, failure.code
                ctx.begin(name, index)
    ctx.begin("done", len(steps))
    if not done_screen:
        return Outcome.DONE, ""
    with contextlib.suppress(StepExpired):  # the citizen left with their document: still done
        await ctx.ask(ctx.text("done"), ("finish",), ctx.settings.done_timeout, state=State.DONE)
    return Outcome.DONE, ""
