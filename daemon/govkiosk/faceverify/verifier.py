"""The face verifier: the card's photo against the face at the screen, with liveness.

The citizen session drives it (docs/face.md)::

    card = await verifier.enroll(identity.photo)        # decode + embed, in the worker
    try:
        for _ in range(settings.attempts):
            decision = await verifier.attempt(card, camera_frames(), show_hint)
            if decision.matched:
                break
    finally:
        card.wipe()

:meth:`FaceVerifier.attempt` reads frames — the newest one each time the worker is free,
older ones are dropped — and reports what the citizen should change as hint codes
(``no_face``, ``several_faces``, ``closer``, ``centre``, ``too_dark``, ``hold_still``,
``blink``, ``turn_left``, ``checking``), each once when it changes. Once a well-framed
face has been watched for ``window_seconds`` (binocular: IR at its place and its
movement, :mod:`.liveness`) or has met its challenge (blink / turn the head), it
compares the face with the card and returns a :class:`Decision`. The attempts policy,
the fallback text and the staff call are the session's.

Decision reasons: ``matched``, ``not_matched``, ``not_live.screen``, ``not_live.print``,
``not_live.still``, ``not_live.challenge`` (the challenge was not met in time),
``no_face`` (no face at all in ``attempt_seconds``), ``timeout`` (a face, but never well
framed for long enough). A liveness failure is decided before any comparison: its score is
0. Worker failures (:class:`WorkerError`) are raised, not decided: they are the kiosk's
fault, not the citizen's.

Frames, the card's embedding and the window's patches live in memory only; ``repr``s
withhold them, and :meth:`CardFace.wipe` zeroes the embedding (§8 d).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    AsyncIterator,
    Callable,
    List,
    Optional,
    Tuple,
)

import numpy as np

from ..timeouts import wait_for
from . import liveness
from .analysis import FrameReport, FrameRequest, Reference
from .errors import FaceError
from .liveness import Challenge
from .model import distance, score
from .settings import FaceSettings
from .worker import FaceWorker

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]
    Vector = NDArray[np.float64]

#: One instant of the face camera: colour (BGR) and IR (grey; ``None`` without an IR camera).
Frames = Tuple["Image", Optional["Image"]]

HINTS = (
    "no_face",
    "several_faces",
    "closer",
    "centre",
    "too_dark",
    "hold_still",
    "blink",
    "turn_left",
    "turn_right",
    "checking",
)
REASONS = (
    "matched",
    "not_matched",
    *liveness.REASONS,
    "no_face",
    "timeout",
)
#: A window needs at least this many frames, whatever its length in time.
MIN_FRAMES = 4


@dataclass(frozen=True)
class Decision:
    """One attempt's outcome. ``score`` is 0..1 (:func:`.model.score`); 0 when not live."""

    matched: bool
    live: bool
    score: float
    reason: str


class CardFace:
    """The card holder's face embedding, in memory for one session. ``wipe()`` zeroes it."""

    def __init__(self, embedding: Vector) -> None:
        self._embedding: Vector = np.array(embedding, np.float64)
        self._wiped = False

    @property
    def embedding(self) -> Vector:
        if self._wiped:
            raise FaceError("the card's face was wiped")
        return self._embedding

    @property
    def wiped(self) -> bool:
        return self._wiped

    def wipe(self) -> None:
        self._embedding.fill(0.0)
        self._wiped = True

    def __repr__(self) -> str:
        return f"CardFace(<withheld>{', wiped' if self._wiped else ''})"

    __str__ = __repr__


class _Latest:
    """Reads the camera's frames in the background and keeps only the newest."""

    def __init__(self, frames: AsyncIterator[Frames]) -> None:
        self._frames = frames
        self._item: Optional[Tuple[Frames, float]] = None
        self._fresh = asyncio.Event()
        self._error: Optional[BaseException] = None
        self.ended = False
        self._task = asyncio.ensure_future(self._pull())

    async def _pull(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for item in self._frames:
                self._item = (item, loop.time())
                self._fresh.set()
        except Exception as err:  # noqa: BLE001 - handed to the attempt, which raises it
            self._error = err
        finally:
            self.ended = True
            self._fresh.set()

    async def next(self, timeout: float) -> Optional[Tuple[Frames, float]]:
        """The newest frame not yet taken and when it arrived; ``None`` after ``timeout``
        or once the frames have ended (their error, if they ended with one, is raised)."""
        while self._item is None:
            if self.ended:
                if self._error is not None:
                    raise self._error
                return None
            self._fresh.clear()
            try:
                await wait_for(self._fresh.wait(), timeout)
            except asyncio.TimeoutError:
                return None
        item, self._item = self._item, None
        return item

    async def close(self) -> None:
        self._item = None
        self._task.cancel()
        await asyncio.wait({self._task})


class _Window:
    """The frames of a well-framed face being watched, until the decision."""

    def __init__(self, challenge: Optional[Challenge]) -> None:
        self.challenge = challenge
        self.start: Optional[float] = None
        self.reference: Optional[Reference] = None
        self.ir: List[Optional[str]] = []
        self.shifts: List[float] = []
        self.embeddings: List[Vector] = []
        self.frames = 0

    def reset(self) -> None:
        self.wipe()
        self.start = self.reference = None
        self.ir, self.shifts, self.embeddings, self.frames = [], [], [], 0
        if self.challenge is not None:
            self.challenge = Challenge(self.challenge.kind)

    def wipe(self) -> None:
        if self.reference is not None:
            self.reference.patch.fill(0.0)
        for vector in self.embeddings:
            vector.fill(0.0)

    def wants_embedding(self, now: float, seconds: float) -> bool:
        """The first frame, and the first one past half the window."""
        if not self.embeddings:
            return True
        return (
            len(self.embeddings) < 2 and self.start is not None and now - self.start >= seconds / 2
        )

    def add(self, report: FrameReport, now: float) -> None:
        if self.start is None:
            self.start = now
        if report.reference is not None:
            self.reference = report.reference
        if report.ir is not None:
            self.ir.append(report.ir.verdict())
        if report.shift is not None:
            self.shifts.append(report.shift)
        if report.embedding is not None:
            self.embeddings.append(report.embedding)
        self.frames += 1

    def complete(self, now: float, seconds: float) -> bool:
        return (
            self.start is not None
            and now - self.start >= seconds
            and self.frames >= MIN_FRAMES
            and bool(self.embeddings)
        )


class _Hints:
    def __init__(self, on_hint: Callable[[str], None]) -> None:
        self._on_hint = on_hint
        self.last: Optional[str] = None

    def show(self, hint: str) -> None:
        if hint != self.last:
            self.last = hint
            self._on_hint(hint)


class FaceVerifier:
    """Enrols a card's photo and runs attempts (module docstring)."""

    def __init__(
        self,
        settings: Callable[[], FaceSettings],
        worker: FaceWorker,
        *,
        rng: Optional[random.Random] = None,
    ) -> None:
        self._settings = settings
        self._worker = worker
        self._rng = rng or random.SystemRandom()

    @property
    def settings(self) -> FaceSettings:
        """The ``[face]`` section in force (``attempts``, ``threshold``…)."""
        return self._settings()

    async def enroll(self, card_blob: bytes) -> CardFace:
        """The card's photo decoded and embedded, in the worker.

        :class:`.PhotoError` when it cannot be decoded, :class:`.NoFaceError` when it
        shows no face.
        """
        settings = self._settings()
        return CardFace(await self._worker.card_embedding(card_blob, settings))

    async def attempt(
        self,
        card: CardFace,
        frames: AsyncIterator[Frames],
        on_hint: Callable[[str], None],
    ) -> Decision:
        """Watch ``frames`` until a decision or ``attempt_seconds`` (module docstring)."""
        if card.wiped:
            raise FaceError("the card's face was wiped: enrol the card again")
        settings = self._settings()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.attempt_seconds
        hints = _Hints(on_hint)
        window: Optional[_Window] = None
        seen_face = framed = False
        latest = _Latest(frames)
        try:
            while True:
                remaining = deadline - loop.time()
                taken = await latest.next(remaining) if remaining > 0 else None
                if taken is None:
                    break
                (rgb, ir), arrived = taken
                if window is None:  # the first frame decides: IR, or the challenge
                    binocular = settings.liveness == "binocular" and ir is not None
                    challenge = None if binocular else self._rng.choice(settings.challenges)
                    window = _Window(None if challenge is None else Challenge(challenge))
                if window.challenge is None and ir is None:
                    continue  # an IR frame went missing: this instant cannot be judged
                report = await self._worker.analyse(
                    FrameRequest(
                        rgb,
                        ir if window.challenge is None else None,
                        settings.min_face,
                        challenge=window.challenge is not None,
                        eyes=window.challenge is not None and window.challenge.kind == "blink",
                        reference=window.reference,
                        embed=window.wants_embedding(arrived, settings.window_seconds),
                    )
                )
                seen_face = seen_face or report.faces > 0
                if report.hint is not None:
                    window.reset()
                    hints.show(report.hint)
                    continue
                if report.shift is not None and report.shift > liveness.MOTION_MAX:
                    window.reset()
                    hints.show("hold_still")
                    continue
                window.add(report, arrived)
                framed = True
                decision = self._judge(card, window, report, hints, settings=settings, now=arrived)
                if decision is not None:
                    return decision
        finally:
            await latest.close()
            if window is not None:
                window.wipe()
        if window is not None and window.challenge is not None and framed:
            return Decision(False, False, 0.0, "not_live.challenge")
        return Decision(False, False, 0.0, "timeout" if seen_face else "no_face")

    def _judge(
        self,
        card: CardFace,
        window: _Window,
        report: FrameReport,
        hints: _Hints,
        *,
        settings: FaceSettings,
        now: float,
    ) -> Optional[Decision]:
        challenge = window.challenge
        if challenge is None:
            if not window.complete(now, settings.window_seconds):
                hints.show("hold_still")
                return None
            hints.show("checking")
            verdict = liveness.judge_binocular(window.ir, window.shifts)
            if not verdict.live:
                return Decision(False, False, 0.0, verdict.reason)
            return self._compare(card, window.embeddings, settings)
        hints.show(challenge.kind)
        eye_ratio = report.eye_ratio if report.eye_ratio is not None else 0.0
        if not challenge.feed(eye_ratio, report.yaw or 0.0) or not window.embeddings:
            return None
        hints.show("checking")
        return self._compare(card, window.embeddings, settings)

    @staticmethod
    def _compare(card: CardFace, embeddings: List[Vector], settings: FaceSettings) -> Decision:
        # The worst of the window's embeddings: every frame compared must be the holder.
        similarity = score(max(distance(card.embedding, e) for e in embeddings))
        matched = similarity >= settings.threshold
        return Decision(matched, True, similarity, "matched" if matched else "not_matched")
