"""The ``capture_materials`` step: the item's paper materials under the document camera (高拍仪).

For each page of each material in the item's ``captures``: a live preview with the page
outline found, an automatic capture once the page lies still (or the citizen's "capture"),
the page corrected (perspective, skew, whitening) and shown for review — accept or retake.
Accepted pages are encoded as the department takes them and sent with the query; they live
in ``Personal`` and are zeroed when the session ends. Page finding and correction run in an
executor: the event loop never waits for OpenCV.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Optional, Tuple

from ..backends.base import Attachment
from ..devices.camera.errors import CameraError
from ..docscan import page, rectify
from ..docscan.stillness import Steadiness
from ..items.catalogue import PaperMaterial
from .cameras import DOC, CaptureCheck
from .errors import Declined, StepFailed
from .flow import StepContext

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

FRAME_TIMEOUT = 5.0
CONTENT_TYPES = {"jpeg": "image/jpeg", "pdf": "application/pdf"}


async def capture_materials(
    ctx: StepContext,
    check: Optional[CaptureCheck],
    captures: Tuple[PaperMaterial, ...],
    limit: float,
) -> None:
    if check is None:
        raise StepFailed("capture.unavailable", "this kiosk has no document camera")
    session, personal = ctx.session, ctx.session.personal
    session.camera = "document"
    done = {(scan.material, scan.page) for scan in personal.scans}
    try:
        async with check.cameras.stream(DOC) as stream:
            for material in captures:
                for number in range(1, material.pages + 1):
                    if (material.name, number) in done:
                        continue
                    session.material = material.title(session.language)
                    session.page, session.page_count = number, material.pages
                    personal.scans.append(
                        await _page(ctx, check, stream, material.name, number, limit)
                    )
    except CameraError as err:
        raise StepFailed("capture.camera_lost", str(err)) from err
    finally:
        personal.unshow()
        session.camera = session.material = ""
        session.page = session.page_count = 0


async def _page(
    ctx: StepContext, check: CaptureCheck, stream: object, material: str, number: int, limit: float
) -> Attachment:
    """One page, aimed, captured and accepted by the citizen."""
    settings = check.settings()
    loop = asyncio.get_running_loop()
    while True:
        aimed = asyncio.ensure_future(_aim(ctx, stream, settings.hold, settings.tolerance))
        try:
            answer = await ctx.ask(ctx.text("capture.aim"), ("capture", "cancel"), limit, until=aimed)
        finally:
            if not aimed.done():
                aimed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({aimed})
        if answer == "cancel":
            raise Declined("capture cancelled")
        frame, quad = aimed.result() if answer == "" else _latest(ctx)
        corrected = await ctx.work(
            "capture.process",
            loop.run_in_executor(None, _corrected, frame, quad, settings.paper, settings.width),
            limit,
            "capture.timeout",
        )
        ctx.session.personal.show(corrected)
        answer = await ctx.ask(ctx.text("capture.review"), ("accept", "retake", "cancel"), limit)
        if answer == "cancel":
            raise Declined("capture cancelled")
        if answer == "accept":
            data = await loop.run_in_executor(None, rectify.encode, corrected, settings.format)
            return Attachment(material, number, CONTENT_TYPES[settings.format], bytearray(data))
