"""The ``capture_materials`` step: the item's paper materials under the document camera (高拍仪).

For each page of each material in the item's ``captures``: a live preview with the outline
of the page found, an automatic capture once the page lies still (or the citizen's
"capture"), the page corrected (perspective, skew, whitening, ``[docscan]``) and shown for
review — accept or retake. Accepted pages are encoded as ``[docscan] format`` says and go
to the department with the query; they live in ``Personal`` and are zeroed when the session
ends (§8 d). Finding and correcting pages runs in an executor: the event loop never waits
for OpenCV.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional, Tuple

from ..backends.base import Attachment
from ..devices.camera.errors import CameraError
from ..devices.camera.frames import FrameStream
from ..docscan.errors import DocScanError
from ..docscan.page import find_page
from ..docscan.quad import Quad
from ..docscan.rectify import correct, encode
from ..docscan.settings import DocScanSettings
from ..docscan.stillness import Steadiness
from ..items.catalogue import PaperMaterial
from .cameras import DOC, CaptureCheck
from .errors import Declined, StepFailed
from .flow import StepContext

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

#: A document camera that delivers no frame for this long has failed the step.
FRAME_TIMEOUT = 5.0
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


async def capture_materials(
    ctx: StepContext,
    check: Optional[CaptureCheck],
    captures: Tuple[PaperMaterial, ...],
    limit: float,
) -> None:
    """Every page not captured yet (a retry keeps the pages already accepted)."""
    if check is None:
        raise StepFailed("capture.unavailable", "this kiosk has no document camera")
    session, personal = ctx.session, ctx.session.personal
    taken = {(scan.material, scan.page) for scan in personal.scans}
    session.camera = "document"
    try:
        async with check.cameras.stream(DOC) as stream:
            for material in captures:
                for number in range(1, material.pages + 1):
                    if (material.name, number) in taken:
                        continue
                    session.material = material.title(session.language)
                    session.page, session.page_count = number, material.pages
                    scan = await _page(ctx, stream, check.settings(), limit)
                    personal.scans.append(
                        Attachment(material.name, number, CONTENT_TYPES[scan[1]], scan[0])
                    )
    except CameraError as err:
        raise StepFailed("capture.camera_lost", str(err)) from err
    except DocScanError as err:
        raise StepFailed("capture.failed", str(err)) from err
    finally:
        personal.unshow()
        session.camera = session.material = ""
        session.page = session.page_count = 0


async def _page(
    ctx: StepContext, stream: FrameStream, settings: DocScanSettings, limit: float
) -> Tuple[bytearray, str]:
    """One page: aimed, captured, corrected and accepted; its encoding and format."""
    loop = asyncio.get_running_loop()
    while True:
        aimed: asyncio.Future[Tuple[Image, Optional[Quad]]] = loop.create_future()
        aiming = asyncio.ensure_future(_aim(ctx, stream, settings, aimed))
        try:
            answer = await ctx.ask(
                ctx.text("capture.aim"), ("capture", "cancel"), limit, until=aimed
            )
        finally:
            aiming.cancel()
            await asyncio.wait({aiming})  # never raises: the step's own cancellation stays
        if answer == "cancel":
            raise Declined("capture cancelled")
        if answer == "capture" and not aimed.done():
            aimed.set_result(await _latest(stream, loop))
        frame, quad = aimed.result()
        page = await ctx.work(
            "capture.process",
            loop.run_in_executor(None, _corrected, frame, quad, settings),
            limit,
            "capture.timeout",
        )
        ctx.session.personal.show(page)
        answer = await ctx.ask(ctx.text("capture.review"), ("accept", "retake", "cancel"), limit)
        if answer == "cancel":
            raise Declined("capture cancelled")
        if answer == "accept":
            data = await loop.run_in_executor(None, _encoded, page, settings)
            return bytearray(data), settings.format


async def _aim(
    ctx: StepContext,
    stream: FrameStream,
    settings: DocScanSettings,
    aimed: asyncio.Future[Tuple[Image, Optional[Quad]]],
) -> None:
    """Follow the camera: each frame shown with the page found; the frame and its page
    once the page has lain still for the hold time."""
    loop = asyncio.get_running_loop()
    steadiness = Steadiness.from_settings(settings)
    try:
        while not aimed.done():
            frame = await stream.next(FRAME_TIMEOUT)
            quad = await loop.run_in_executor(None, find_page, frame.image)
            ctx.session.personal.show(frame.image, outline=_outline(quad, frame.image))
            if steadiness.feed(quad, frame.at) and not aimed.done():
                aimed.set_result((frame.image, quad))
    except (CameraError, DocScanError) as err:  # the step learns it through ``aimed``
        if not aimed.done():
            aimed.set_exception(err)


async def _latest(
    stream: FrameStream, loop: asyncio.AbstractEventLoop
) -> Tuple[Image, Optional[Quad]]:
    """The citizen pressed "capture": the newest frame and the page in it, if any."""
    frame = stream.latest() or await stream.next(FRAME_TIMEOUT)
    return frame.image, await loop.run_in_executor(None, find_page, frame.image)


def _outline(quad: Optional[Quad], image: Image) -> Tuple[float, ...]:
    if quad is None:
        return ()
    height, width = image.shape[:2]
    return tuple(v for x, y in quad.corners for v in (x / width, y / height))


def _corrected(frame: Image, quad: Optional[Quad], settings: DocScanSettings) -> Image:
    """The page straightened and whitened; a frame with no page found is taken whole."""
    if quad is None:
        height, width = frame.shape[:2]
        quad = Quad(
            (0.0, 0.0), (width - 1.0, 0.0), (width - 1.0, height - 1.0), (0.0, height - 1.0)
        )
    page: Image = correct(
        frame,
        quad,
        paper=settings.paper,
        width=settings.width,
        colour=settings.colour,
        straighten=settings.deskew,
    )
    return page


def _encoded(page: Image, settings: DocScanSettings) -> bytes:
    return encode(page, settings.format, quality=settings.jpeg_quality, paper=settings.paper)
