"""A web-app session: the item's page in the kiosk browser, its devices through the bridge.

:class:`WebAppHost` is the session's ``webapp`` step (``Services.webapps``): it starts the
bridge (once), opens a :class:`~.bridge.BridgeSession` with a fresh token, launches the
kiosk browser at ``<url>#govkiosk-bridge=<port>.<token>`` and shows the ``webapp`` step
(the UI's native strip: 返回首页 and the countdown to the item's ``time_limit``) until the
page calls ``session.end`` (the session is done), the browser exits (cancelled), the time
runs out (expired), or the session manager ends it (返回首页, walk-away, the daemon
stopping). However it ends: the token is revoked, calls under way are refused, the
browser is closed and its profile wiped, buffers the page sent are zeroed; the session
manager wipes the rest (the identity, captured pages) as for any session.

:class:`KioskCalls` does what the bridge's methods ask, with the session's own parts:
the card through the identity step's code after the kiosk's own consent screen
(``webapp_consent``, with the fields asked: the page can neither draw nor skip it), the
face through ``face_verify``, A4 through the seal verifier and the A4 printer of native
items, the receipt printer, the QR scanner, the document camera, the prompt the UI
speaks. Steps that need the citizen at the screen run one at a time in the step's own
task (they take over the screen, then give it back to the page).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from io import BytesIO
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
    TypeVar,
)

import cv2
import numpy as np

from ..bus import Alarm, Severity
from ..devices.idcard.cardtext import Identity
from ..devices.idcard.events import IdentityRead
from ..devices.qrscanner.events import CodeScanned
from ..devices.receipt.escpos import Cut, Feed, Line, QrCode, Receipt
from ..docscan.rectify import paper_mm
from ..errors import GovkioskError
from ..items.catalogue import Item, PaperMaterial, WebApp
from ..printing.a4 import A4Job, A4Printed
from ..printing.errors import PrintError
from ..security.doctype import PDF, DocumentTypeError, checked
from ..security.seal import SealError
from ..session.cameras import CaptureCheck
from ..session.capture import capture_materials
from ..session.errors import Interrupted, StepExpired, StepFailed
from ..session.face import face_verify
from ..session.flow import StepContext
from ..session.state import State
from ..session.steps import remember
from ..timeouts import wait_for
from .bridge import Bridge, BridgeSession, Sessions, new_token
from .errors import (
    BadRequestError,
    BridgeError,
    BusyError,
    DeclinedError,
    DeviceFailedError,
    SessionEndedError,
    TooLargeError,
)
from .pages import Page, pages_pdf
from .settings import WebAppsSettings

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

FRAGMENT = "govkiosk-bridge"
A4_MM = (210.0, 297.0)


class Browser(Protocol):
    """The kiosk browser for one session (``browser.py``)."""

    async def open(self, url: str, app: WebApp) -> None:
        """Start it showing ``url``, navigation held to ``app.origins``."""

    async def wait(self) -> None:
        """Return when the browser has exited (closed, crashed)."""

    async def hide(self) -> None:
        """Take the window off the screen: the kiosk's own screen (consent) shows."""

    async def show(self) -> None:
        """Give the screen back to the page."""

    async def close(self) -> None:
        """Close it (if running) and wipe its profile."""


#: Builds the session's browser.
BrowserFactory = Callable[[WebAppsSettings], Browser]


def launch_url(url: str, port: int, token: str) -> str:
    return f"{url}#{FRAGMENT}={port}.{token}"


def count_pages(pdf: bytes) -> int:
    """The PDF's page count (its page tree's ``/Count``). Blocking: run it in an executor."""
    # pyHanko costs the daemon megabytes at start; only a web app that prints needs it.
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415

    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        count = reader.root["/Pages"]["/Count"]
    except Exception as err:
        raise BadRequestError("pdf: not a readable PDF") from err
    if not isinstance(count, int) or count < 1:
        raise BadRequestError("pdf: no pages")
    return count


@dataclass
class _Interaction:
    """A call that needs the citizen at the screen, run by the step's own task."""

    run: Callable[[], Awaitable[Any]]
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def _zero(buffer: bytearray) -> None:
    buffer[:] = bytes(len(buffer))


class KioskCalls:
    """The bridge's methods on this session's parts (:class:`~.bridge.KioskCalls`)."""

    def __init__(self, ctx: StepContext, item: Item, settings: Callable[[], WebAppsSettings]):
        assert item.webapp is not None
        self.ctx = ctx
        self.item = item
        self.app = item.webapp
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._interactions: asyncio.Queue[_Interaction] = asyncio.Queue()
        self.ended: asyncio.Future[None] = self._loop.create_future()
        self._tasks: Set[asyncio.Task[Any]] = set()
        self._buffers: List[bytearray] = []
        self._jobs: List[A4Job] = []
        self._closed = False
        self._printed = 0
        #: The session's browser, hidden while the kiosk's own screens show.
        self.browser: Optional[Browser] = None

    # The step ----------------------------------------------------------------------
    def show(self, deadline: float) -> None:
        """The page has the screen: the UI shows the strip and the countdown."""
        session = self.ctx.session
        session.step, session.state = "webapp", State.WAITING
        session.choices, session.deadline, session.extendable = ("cancel",), deadline, False
        session.consent_fields = ()
        self.ctx.refresh()

    async def serve(self, deadline: float, exited: asyncio.Future[None]) -> None:
        """Until the page ends the session (return), the browser exits (``Interrupted``) or
        the time limit passes (``StepExpired``); interactions run here, one at a time."""
        while True:
            self.show(deadline)
            left = deadline - self._loop.time()
            if left <= 0:
                raise StepExpired("the web app's time limit passed")
            waiting = asyncio.ensure_future(self._interactions.get())
            waits: Set[asyncio.Future[Any]] = {waiting, exited, self.ended}
            try:
                await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not waiting.done():
                    waiting.cancel()
            if waiting.done() and not waiting.cancelled():
                await self._take_screen(waiting.result())
            if self.ended.done():
                return
            if exited.done():
                _LOGGER.warning("web app %s: the browser exited", self.item.code)
                raise Interrupted("webapp.browser_exited", "the kiosk browser exited")

    async def _take_screen(self, interaction: _Interaction) -> None:
        """The kiosk's own screen over the page's for ``interaction``, then the page's."""
        browser = self.browser
        if browser is not None:
            await browser.hide()
        try:
            await self._interact(interaction)
        finally:
            self.ctx.session.prompt = ""
            if browser is not None and not self._closed:
                await browser.show()

    async def _interact(self, interaction: _Interaction) -> None:
        try:
            result = await interaction.run()
        except BridgeError as err:
            if not interaction.done.done():
                interaction.done.set_exception(err)
            return
        except StepFailed as err:
            if not interaction.done.done():
                interaction.done.set_exception(DeviceFailedError(err.code))
            return
        except StepExpired:
            if not interaction.done.done():
                interaction.done.set_exception(DeclinedError("no answer in time"))
            return
        except BaseException:
            if not interaction.done.done():
                interaction.done.set_exception(SessionEndedError("the session ended"))
            raise
        if not interaction.done.done():
            interaction.done.set_result(result)

    async def _on_screen(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run ``run`` in the step's task (it uses the screen); its result here."""
        if self._closed:
            raise SessionEndedError("the session has ended")
        interaction = _Interaction(run)
        self._interactions.put_nowait(interaction)
        return await self._guarded(interaction.done)

    async def _background(self, job: Awaitable[T]) -> T:
        """Run ``job`` as a task the session's end cancels."""
        if self._closed:
            raise SessionEndedError("the session has ended")
        task: asyncio.Task[T] = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await self._guarded(task)

    async def _guarded(self, future: asyncio.Future[T]) -> T:
        await asyncio.wait({future})
        if future.cancelled():
            raise SessionEndedError("the session ended during the call")
        return future.result()

    async def close(self) -> None:
        """The session ended: nothing more runs, buffers the page sent are zeroed."""
        self._closed = True
        while not self._interactions.empty():
            pending = self._interactions.get_nowait()
            if not pending.done.done():
                pending.done.set_exception(SessionEndedError("the session ended"))
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
        kept = self.ctx.session.personal.a4_job  # the session's end discards that one
        for job in self._jobs:
            if not job.printed and job is not kept:
                with contextlib.suppress(PrintError):
                    await self.ctx.services.a4.discard(job)
            if job is not kept:
                _zero(job.document)
        for buffer in self._buffers:
            _zero(buffer)
        self._jobs, self._buffers = [], []

    # The bridge's methods ----------------------------------------------------------
    async def read_card(self, fields: Sequence[str]) -> Dict[str, str]:
        identity = await self._on_screen(lambda: self._consent_and_card(fields))
        values = identity.fields()
        return {name: values[name] for name in fields if name in values}

    async def _consent_and_card(self, fields: Sequence[str]) -> Identity:
        ctx = self.ctx
        session, settings = ctx.session, ctx.settings
        session.step, session.consent_fields = "webapp_consent", tuple(fields)
        try:
            answer = await ctx.ask(
                ctx.text("webapp.consent"),
                ("agree", "disagree"),
                settings.consent_timeout,
                extendable=False,
            )
        except StepExpired:
            raise DeclinedError("the citizen did not answer the consent screen") from None
        finally:
            session.consent_fields = ()
        if answer != "agree":
            raise DeclinedError("the citizen declined")
        personal = session.personal
        if personal.identity is None:
            session.step = "identity"
            read: asyncio.Future[Identity] = self._loop.create_future()

            def on_read(event: IdentityRead) -> None:
                if not read.done():
                    read.set_result(event.identity)

            unsubscribe = ctx.services.bus.subscribe(IdentityRead, on_read, personal=True)
            try:
                await ctx.ask(
                    ctx.text("identity.insert"),
                    ("cancel",),
                    settings.identity_timeout,
                    until=read,
                    extendable=False,
                )
            except StepExpired:
                raise DeviceFailedError("no card was presented in time") from None
            finally:
                unsubscribe()
                read.cancel()
            remember(ctx, read.result())
        assert personal.identity is not None
        return personal.identity

    async def verify_face(self) -> bool:
        if self.ctx.session.personal.identity is None:
            raise BusyError("read the card first (idcard.read)")
        return bool(await self._on_screen(self._face))

    async def _face(self) -> bool:
        self.ctx.session.step = "face_verify"
        try:
            await face_verify(self.item.code, self.ctx, self.ctx.services.faces, None)
        except StepFailed as err:
            _LOGGER.info("web app %s: face not verified (%s)", self.item.code, err.code)
            return False
        return True

    async def capture_pages(self, pages: int) -> bytes:
        return bytes(await self._on_screen(lambda: self._capture(pages)))

    async def _capture(self, pages: int) -> bytearray:
        ctx = self.ctx
        ctx.session.step = "capture_materials"
        personal = ctx.session.personal
        check, paper = ctx.services.captures, A4_MM
        if check is not None:  # the pages as JPEG, whatever the department takes
            configured = check.settings
            paper = paper_mm(configured().paper)
            check = CaptureCheck(
                check.cameras, lambda: dataclasses.replace(configured(), format="jpeg")
            )
        material = PaperMaterial(name="材料", pages=pages, en="Pages")
        before = len(personal.scans)
        await capture_materials(ctx, check, (material,), ctx.settings.capture_timeout)
        jpegs = [bytes(scan.data) for scan in personal.scans[before:]]
        document = await self._loop.run_in_executor(None, _pages_pdf, jpegs, paper)
        self._buffers.append(document)
        return document

    async def print_pdf(self, pdf: bytes, copies: int, pages_left: int) -> Tuple[str, int]:
        return await self._background(self._print_pdf(bytearray(pdf), copies, pages_left))

    async def _print_pdf(self, pdf: bytearray, copies: int, pages_left: int) -> Tuple[str, int]:
        self._buffers.append(pdf)
        ctx, services = self.ctx, self.ctx.services
        try:
            if checked("application/pdf", bytes(pdf)) != PDF:
                raise BadRequestError("pdf: not a PDF")
        except DocumentTypeError as err:
            raise BadRequestError("pdf: not a PDF") from err
        pages = await self._loop.run_in_executor(None, count_pages, bytes(pdf))
        if pages * copies > pages_left:
            raise TooLargeError(
                f"{pages} pages × {copies} is over what is left of the item's max_pages"
            )
        if self.app.seal_required:
            try:
                await wait_for(
                    services.verifier().verify_async(bytes(pdf)), ctx.settings.seal_timeout
                )
            except asyncio.TimeoutError:
                raise DeviceFailedError("seal.timeout") from None
            except SealError as err:
                services.bus.publish(
                    Alarm("seal", err.code, Severity.CRITICAL, f"web app {self.item.code}: {err}")
                )
                raise DeviceFailedError(err.code) from err
        timeout = ctx.settings.print_timeout
        name = ""
        for _copy in range(copies):
            self._printed += 1
            name = f"{self.item.code}-{ctx.session.id[:8]}-w{self._printed}"
            job = A4Job(name, bytearray(pdf), recorded=lambda _: ctx.recorded())
            self._jobs.append(job)
            # The session's job, as a native print's: its CUPS id is on disk for after a
            # crash before the print goes on (``recorded``) and the session's end discards
            # it if unprinted.
            ctx.session.personal.a4_job = job
            async with services.activity.busy("print"):
                try:
                    await wait_for(
                        services.a4.print(job, ctx.progress, timeout),
                        timeout + ctx.settings.seal_timeout,
                    )
                except PrintError as err:
                    raise DeviceFailedError(err.code) from err
                except asyncio.TimeoutError:
                    raise DeviceFailedError("printer.timeout") from None
            services.bus.publish(A4Printed(pages))
        return name, pages

    async def print_receipt(self, lines: Sequence[Tuple[str, str]]) -> str:
        return await self._background(self._print_receipt(lines))

    async def _print_receipt(self, lines: Sequence[Tuple[str, str]]) -> str:
        ctx = self.ctx
        blocks: List[Any] = [Line(t) if kind == "text" else QrCode(t) for kind, t in lines]
        receipt = Receipt((*blocks, Feed(3), Cut()))
        ctx.session.receipt_attempts += 1
        job = f"webslip-{ctx.session.id[:8]}-{ctx.session.receipt_attempts}"
        try:
            await ctx.services.receipts.print(receipt, job, ctx.settings.receipt_timeout)
        except PrintError as err:
            raise DeviceFailedError(err.code) from err
        ctx.session.receipt_printed = True
        return job

    async def scan_qr(self, timeout: float) -> str:
        return await self._background(self._scan(timeout))

    async def _scan(self, timeout: float) -> str:
        scanned: asyncio.Future[str] = self._loop.create_future()

        def on_scan(event: CodeScanned) -> None:
            if not scanned.done():
                scanned.set_result(event.text)

        unsubscribe = self.ctx.services.bus.subscribe(CodeScanned, on_scan, personal=True)
        try:
            return await wait_for(scanned, timeout)
        except asyncio.TimeoutError:
            raise DeviceFailedError("no code was scanned in time") from None
        finally:
            unsubscribe()
            scanned.cancel()

    async def say(self, text: str) -> None:
        if self._closed:
            raise SessionEndedError("the session has ended")
        self.ctx.session.prompt = text
        self.ctx.refresh()

    async def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)


def _pages_pdf(jpegs: Sequence[bytes], paper: Tuple[float, float]) -> bytearray:
    """Captured JPEG pages as one PDF. Blocking: run it in an executor."""
    pages: List[Page] = []
    for jpeg in jpegs:
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise DeviceFailedError("capture.failed")
        height, width = image.shape[:2]
        grey = image.ndim == 2
        image.fill(0)
        pages.append((jpeg, (width, height), grey, paper))
    return pages_pdf(pages)


class WebAppHost:
    """Runs web-app sessions (the ``webapp`` step): bridge, token, browser, the end."""

    def __init__(
        self,
        settings: Callable[[], WebAppsSettings],
        launcher: Optional[BrowserFactory] = None,
    ) -> None:
        self._settings = settings
        self.sessions = Sessions()
        self.bridge = Bridge(self.sessions, settings)
        self.launcher = launcher

    async def stop(self) -> None:
        await self.bridge.stop()

    async def run(self, ctx: StepContext, item: Item) -> None:
        app = item.webapp
        assert app is not None, "a web-app item has its manifest"
        await self.bridge.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + app.time_limit
        calls = KioskCalls(ctx, item, self._settings)
        session = BridgeSession(item, new_token(), deadline, calls)
        self.sessions.open(session)
        browser: Optional[Browser] = None
        exited: asyncio.Future[None] = loop.create_future()
        watcher: Optional[asyncio.Task[None]] = None
        _LOGGER.info("web app %s: session %s started", item.code, ctx.session.id[:8])
        try:
            calls.show(deadline)
            if self.launcher is not None:
                browser = calls.browser = self.launcher(self._settings())
                try:
                    await browser.open(launch_url(app.url, self.bridge.port, session.token), app)
                except (OSError, GovkioskError) as err:
                    _LOGGER.error(  # noqa: TRY400 - the reason is enough; the URL holds the token
                        "web app %s: the browser did not start: %s", item.code, type(err).__name__
                    )
                    raise StepFailed("webapp.browser", "the kiosk browser did not start") from err
                watcher = asyncio.ensure_future(browser.wait())

                def gone(_task: asyncio.Task[None]) -> None:
                    if not exited.done():
                        exited.set_result(None)

                watcher.add_done_callback(gone)
            else:
                _LOGGER.warning("web app %s: no kiosk browser is set up", item.code)
            await calls.serve(deadline, exited)
        finally:
            self.sessions.close(session)
            try:
                if browser is not None:
                    await asyncio.shield(browser.close())
            finally:
                if watcher is not None:
                    watcher.cancel()
                exited.cancel()
                await calls.close()
            _LOGGER.info("web app %s: session %s ended", item.code, ctx.session.id[:8])

    def launch_url(self) -> Optional[str]:
        """The current session's launch URL (for the browser and tests); None: none runs."""
        current = self.sessions.current
        if current is None or current.item.webapp is None:
            return None
        return launch_url(current.item.webapp.url, self.bridge.port, current.token)
