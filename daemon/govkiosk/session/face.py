"""The ``face_verify`` step: is the person at the screen the card's holder (人证核验)?

It follows the card read for items whose identity is ``card+face``. The card's photo is
decoded and embedded once per session (:meth:`FaceVerifier.enroll`); each attempt reads the
binocular camera (RGB, and IR when the kiosk has it) while the verifier says what the
citizen should do (请正对摄像头, 请靠近一点 …) and decides: the same person, and a live one.
A failed attempt offers a retry; after ``[face] attempts`` the citizen is sent to a staff
counter and staff are called (an alarm). The camera's latest frame is the preview the UI
shows (mirrored, by ``GetCameraFrame``); it lives in ``Personal`` and is wiped with it.

What is kept of a verification is :class:`FaceChecked`: result, score, attempt — never an
image or an embedding (§8 d).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import AsyncGenerator, Optional

from ..bus import Alarm, Event, Severity
from ..devices.camera.errors import CameraError
from ..devices.camera.hub import CameraHub
from ..faceverify.errors import FaceError, PhotoError
from ..faceverify.verifier import Decision, FaceVerifier, Frames
from .cameras import IR, RGB, FaceCheck
from .errors import Declined, StepFailed
from .flow import StepContext

#: The card photo is decoded and embedded within this time.
ENROL_TIMEOUT = 20.0
#: How long the step waits on top of the verifier's own attempt limit.
MARGIN = 5.0
#: A camera that delivers no frame for this long has failed the attempt.
FRAME_TIMEOUT = 5.0


@dataclass(frozen=True)
class FaceChecked(Event):
    """One verification attempt's outcome, for the audit and ops counts: nothing personal."""

    item_code: str
    result: str  #: ``matched`` or the decision's reason (``not_matched``, ``not_live.screen`` …)
    score: float
    attempt: int


async def _frames(
    cameras: CameraHub, ctx: StepContext, timeout: float
) -> AsyncGenerator[Frames, None]:
    """RGB frames paired with the newest IR frame (when the kiosk has an IR camera);
    each RGB frame becomes the preview."""
    personal = ctx.session.personal
    async with contextlib.AsyncExitStack() as stack:
        rgb = await stack.enter_async_context(cameras.stream(RGB))
        ir = await stack.enter_async_context(cameras.stream(IR)) if cameras.available(IR) else None
        while True:
            frame = await rgb.next(timeout)
            personal.show(frame.image, mirrored=True)
            if ir is None:
                yield frame.image, None
                continue
            # The IR camera's newest frame; its first is waited for, as the verifier takes
            # a pair without IR for a kiosk without an IR camera.
            paired = ir.latest() or await ir.next(timeout)
            yield frame.image, paired.image


async def face_verify(
    item_code: str, ctx: StepContext, check: Optional[FaceCheck], limit: Optional[float]
) -> None:
    """One attempt (a retry of the step is the next); ``limit``: the item's own time limit."""
    verifier = None if check is None else check.verifier()
    if check is None or verifier is None:
        raise StepFailed("face.unavailable", "face verification is not set up on this kiosk")
    session, personal = ctx.session, ctx.session.personal
    settings = check.settings()
    identity = personal.identity
    assert identity is not None, "the identity step runs first"
    if personal.card_face is None:
        try:
            personal.card_face = await ctx.work(
                "face.prepare", verifier.enroll(identity.photo), ENROL_TIMEOUT, "face.timeout"
            )
        except PhotoError as err:
            raise StepFailed("face.photo_unreadable", str(err)) from err
        except FaceError as err:
            raise StepFailed("face.engine", str(err)) from err
    session.face_attempt += 1
    session.face_attempts = settings.attempts
    decision = await _attempt(ctx, check, verifier, limit or settings.attempt_seconds + MARGIN)
    ctx.services.bus.publish(
        FaceChecked(item_code, _result(decision), round(decision.score, 3), session.face_attempt)
    )
    personal.unshow()
    if decision.matched and decision.live:
        return
    if session.face_attempt >= settings.attempts:
        ctx.services.bus.publish(
            Alarm(
                "face",
                "face.fallback",
                Severity.WARNING,
                f"item {item_code}: face not verified after {session.face_attempt} attempts;"
                " the citizen was sent to a staff counter",
            )
        )
        raise StepFailed("face.fallback", _result(decision))
    raise StepFailed(_code(decision), _result(decision))


async def _attempt(
    ctx: StepContext, check: FaceCheck, verifier: FaceVerifier, limit: float
) -> Decision:
    personal = ctx.session.personal
    assert personal.card_face is not None
    card = personal.card_face

    def hint(code: str) -> None:
        ctx.say(f"face.{code}")

    frames = _frames(check.cameras, ctx, FRAME_TIMEOUT)
    attempt = asyncio.ensure_future(verifier.attempt(card, frames, hint))
    ctx.session.camera = "face"
    try:
        # No "more time": the attempt has its own limit, and a failed one offers a retry.
        prompt = ctx.text("face.no_face")
        answer = await ctx.ask(prompt, ("cancel",), limit, until=attempt, extendable=False)
        if answer == "cancel":
            raise Declined("face verification cancelled")
        return attempt.result()
    except CameraError as err:
        raise StepFailed("face.camera_lost", str(err)) from err
    except FaceError as err:
        raise StepFailed("face.engine", str(err)) from err
    finally:
        ctx.session.camera = ""
        if not attempt.done():
            attempt.cancel()
        await asyncio.wait({attempt})  # never raises: the step's own cancellation stays
        if not attempt.cancelled():
            attempt.exception()  # retrieved: raised above when it mattered
        await frames.aclose()


def _result(decision: Decision) -> str:
    return "matched" if decision.matched and decision.live else decision.reason


def _code(decision: Decision) -> str:
    """The failure's ops code: the family of the decision's reason."""
    reason = decision.reason
    if reason.startswith("not_live"):
        return "face.not_live"
    if reason in ("no_face", "timeout"):
        return "face.no_face"
    return "face.not_matched"
