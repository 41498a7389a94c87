"""The camera driver: a supervised service that captures only while somebody watches.

OpenCV never runs in the daemon: the driver's :class:`~.worker.CaptureWorker` (a child
process, started when needed) opens and reads the camera and sends frames as raw pixels.
At start the driver has the worker open the camera once to prove it is there (and to read
back the mode it agreed to) and release it, attaches itself to the
:class:`~.hub.CameraHub` and says ``ready``. An idle kiosk captures nothing, and after
``[camera] worker_idle_exit`` seconds it has no capture process either: the first
:meth:`CameraHub.stream` of its role starts ONE capture run in the worker (starting the
worker again if it had exited), which every further stream shares; the last one leaving
stops it. Each frame goes into every stream's drop-oldest queue; the worker sends a new
frame only for each one the driver took (:mod:`.wire`'s credit), so a busy loop makes the
worker drop frames rather than pile them up.

A camera that stops delivering is lost: no frame for ``stall_after`` seconds (``stalled``)
or a failed open or read, or a capture worker that died (``gone``: unplugged, the
simulator away, a crash in a decoder). Every open stream's ``next`` then raises
:class:`CameraLost` at once, :class:`CameraStateChanged` says why, the driver leaves the
hub (new streams are refused with ``CameraUnavailable``) and fails, so the supervisor
reopens it with backoff. Once it opens again, new streams work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Callable, Dict, List, Optional

from ...bus import EventBus
from ...supervisor import Service
from ...timeouts import wait_for
from ..spec import DeviceSpec
from .errors import CameraError, CameraLost, CameraUnavailable
from .events import GONE, READY, STALLED, STREAMING, CameraStateChanged
from .frames import Frame, FrameQueue, FrameStream
from .hub import CameraHub, CameraInfo
from .settings import CameraSettings
from .sources import V4L2, Negotiated, kind_of
from .wire import Credit, Failed, FrameData, Message, Open, Opened, Stop, Stopped
from .worker import CaptureWorker

_LOGGER = logging.getLogger(__name__)

#: How often the delivered frame rate is brought up to date while streaming.
RATE_WINDOW = 1.0


class _Run:
    """One capture run in the worker: started for the first stream, stopped after the last."""

    def __init__(self, number: int, now: float) -> None:
        self.number = number
        self.frames = 0  #: delivered in this run
        self.window_start = now
        self.window_frames = 0


class CameraDriver(Service):
    #: Opening a camera to probe it takes FFmpeg a second or two on a stream: ``READY=1``
    #: does not wait for it; the hub and :class:`CameraStateChanged` say when it is there.
    gates_ready = False

    def __init__(
        self,
        spec: DeviceSpec,
        bus: EventBus,
        settings: Callable[[], CameraSettings],
        hub: CameraHub,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = spec.id
        self.role = spec.role
        self._spec = spec
        self._bus = bus
        self._section = settings
        self._settings = settings()
        self._hub = hub
        self._clock = clock
        self._mode = self._settings.mode_for(spec.role)
        self._kind = ""
        self._negotiated: Optional[Negotiated] = None
        self._streams: List[FrameStream] = []
        self._run: Optional[_Run] = None
        self._runs = 0  #: run numbers handed out (probes included)
        self._stopping: Dict[int, None] = {}  #: runs told to stop, not yet confirmed
        self._probes: Dict[int, asyncio.Future[Negotiated]] = {}
        self._lost: Optional[CameraLost] = None
        self._last_at = 0.0
        self._measured = 0.0
        self._state = ""
        self._detail = ""
        self._wake: Optional[asyncio.Event] = None
        self._idle: Optional[asyncio.TimerHandle] = None
        self._closing: Optional[asyncio.Future[None]] = None
        self.worker = CaptureWorker(self.name, self._on_message, self._on_worker_exit)

    # -- what tests and the hub look at -------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def capturing(self) -> bool:
        """A capture run is going (or a stopped one has not released the camera yet)."""
        return self._run is not None or bool(self._stopping)

    @property
    def negotiated(self) -> Optional[Negotiated]:
        return self._negotiated

    # -- the service ---------------------------------------------------------------------

    async def start(self) -> None:
        self._settings = self._section()
        self._mode = self._settings.mode_for(self.role)
        self._lost = None
        self._streams = []
        self._run = None
        self._stopping = {}
        self._wake = asyncio.Event()
        open_timeout = self._settings.open_timeout
        limit = 2 * open_timeout + self._settings.worker_start_timeout
        try:
            self._kind = kind_of(self._spec.port)
            self._negotiated = await wait_for(self._probe(), limit)
        except asyncio.TimeoutError:
            await self.worker.kill()
            self._set_state(GONE, f"not opened within {limit:g} s")
            raise CameraError(f"{self.name}: not opened within {limit:g} s") from None
        except CameraError as err:
            self._idle_later()  # kept for the supervisor's next attempt, if soon
            self._set_state(GONE, str(err))
            raise
        self._check_mode(self._negotiated)
        self._idle_later()
        try:
            self._hub.attach(self)
        except CameraError as err:
            self._set_state(GONE, str(err))
            raise
        self._set_state(READY, str(self._negotiated))

    async def serve(self) -> None:
        assert self._wake is not None
        stall_after = self._settings.stall_after
        while True:
            if self._lost is not None:
                raise self._lost
            timeout: Optional[float] = None
            if self._run is not None:
                timeout = self._last_at + stall_after - self._clock()
                if timeout <= 0:
                    self._fail(STALLED, f"no frame for {stall_after:g} s")
                    continue
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wake.wait(), timeout)

    async def stop(self) -> None:
        self._hub.detach(self)
        if self._lost is None:
            self._lose(CameraLost(f"the {self.role} camera ({self.name}) was stopped"))
        self._stop_capture()
        self._cancel_idle()
        self._stopping.clear()
        await self.worker.close()
        if self._state not in (STALLED, GONE):
            self._set_state(GONE, "driver stopped")

    # -- streams (called by the hub, on the loop) ----------------------------------------

    def open_stream(self) -> FrameStream:
        if self._lost is not None or not self._kind:
            raise CameraUnavailable(f"the {self.role} camera ({self.name}) is not available")
        stream = FrameStream(self.role, self.name, FrameQueue(self._settings.queue_depth))
        self._streams.append(stream)
        if self._run is None:
            self._start_capture()
        return stream

    def close_stream(self, stream: FrameStream) -> None:
        if stream not in self._streams:
            return  # a stream of a run that was lost (this driver has restarted since)
        self._streams.remove(stream)
        if not self._streams and self._run is not None:
            self._stop_capture()
            if self._lost is None:
                self._set_state(READY, str(self._negotiated))

    # -- the worker ----------------------------------------------------------------------

    def _next_run(self) -> int:
        self._runs = self._runs % 0xFFFFFFFF + 1
        return self._runs

    def _open(self, run: int, probe: bool) -> Open:
        settings = self._settings
        return Open(
            run,
            self._spec.port,
            self._mode,
            settings.open_timeout,
            settings.stall_after + 1.0 if not probe else settings.open_timeout,
            probe=probe,
            depth=max(2, settings.queue_depth),
        )

    async def _probe(self) -> Negotiated:
        """Open once in the worker, read back the mode, release: the camera is there."""
        self._cancel_idle()
        await self._closed()
        await self.worker.ensure()
        run = self._next_run()
        future: asyncio.Future[Negotiated] = asyncio.get_running_loop().create_future()
        self._probes[run] = future
        try:
            if not self.worker.send(self._open(run, probe=True)):
                raise CameraError(f"{self.name}: the capture worker is not running")
            return await future
        finally:
            self._probes.pop(run, None)

    def _start_capture(self) -> None:
        self._cancel_idle()
        run = _Run(self._next_run(), self._clock())
        self._run = run
        # The first frame may take as long as starting the worker and an open; from then
        # on, stall_after applies.
        settings = self._settings
        self._last_at = run.window_start + settings.open_timeout
        if not self.worker.running:
            self._last_at += settings.worker_start_timeout
        task = asyncio.ensure_future(self._begin(run))
        task.add_done_callback(_logged)
        _LOGGER.debug("%s: capture started", self.name)
        self._wake_serve()

    async def _begin(self, run: _Run) -> None:
        """Start the worker if it is not running, then open the camera for ``run``."""
        try:
            await self._closed()
            await self.worker.ensure()
        except CameraError as err:
            if run is self._run:
                self._fail(GONE, str(err))
            return
        if self._lost is not None and self._run is None:
            await self.worker.close()  # the driver stopped meanwhile: no worker left behind
            return
        if run is self._run and not self.worker.send(self._open(run.number, probe=False)):
            self._fail(GONE, "the capture worker is not running")

    def _stop_capture(self) -> None:
        run = self._run
        if run is None:
            return
        self._run = None
        self._measured = 0.0
        if self.worker.send(Stop(run.number)):
            self._stopping[run.number] = None
        _LOGGER.debug("%s: capture stopped after %d frames", self.name, run.frames)
        self._idle_later()
        self._wake_serve()

    def _idle_later(self) -> None:
        """Stop the worker once the camera has been idle for ``worker_idle_exit``."""
        self._cancel_idle()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._settings.worker_idle_exit, self._on_idle)

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _on_idle(self) -> None:
        self._idle = None
        if self._run is None and not self._probes and self.worker.running:
            _LOGGER.debug("%s: idle; the capture worker exits", self.name)
            self._stopping.clear()
            self._closing = asyncio.ensure_future(self.worker.close())
            self._closing.add_done_callback(_logged)

    async def _closed(self) -> None:
        """Wait until an idle worker's exit has finished (a new one may then start)."""
        closing = self._closing
        if closing is not None:
            await asyncio.wait({closing})
            if self._closing is closing:
                self._closing = None

    # -- on the loop, from the worker ----------------------------------------------------

    def _on_message(self, message: Message) -> None:
        if isinstance(message, FrameData):
            self._on_frame(message)
        elif isinstance(message, Opened):
            if message.probe:
                probe = self._probes.get(message.run)
                if probe is not None and not probe.done():
                    probe.set_result(message.negotiated)
            elif self._run is not None and message.run == self._run.number:
                self._on_opened(message.negotiated)
        elif isinstance(message, Failed):
            probe = self._probes.get(message.run)
            if probe is not None and not probe.done():
                probe.set_exception(CameraError(message.reason))
            elif self._run is not None and message.run == self._run.number:
                self._fail(GONE, message.reason)
        elif isinstance(message, Stopped):
            self._stopping.pop(message.run, None)

    def _on_worker_exit(self, why: str) -> None:
        self._stopping.clear()
        for probe in self._probes.values():
            if not probe.done():
                probe.set_exception(CameraError(f"{self.name}: {why}"))
        if self._run is not None:
            self._fail(GONE, why)

    def _on_opened(self, negotiated: Negotiated) -> None:
        self._last_at = self._clock()
        if negotiated != self._negotiated:
            self._negotiated = negotiated
            self._check_mode(negotiated)
        self._wake_serve()

    def _on_frame(self, data: FrameData) -> None:
        run = self._run
        if run is None or data.run != run.number:
            return
        self.worker.send(Credit(run.number))
        shape = (data.height, data.width) + ((data.channels,) if data.channels > 1 else ())
        frame = Frame.from_pixels(bytearray(data.pixels), shape, data.seq, data.at, self.role)
        now = self._clock()
        self._last_at = now
        run.frames += 1
        run.window_frames += 1
        for stream in self._streams:
            stream.queue.put(frame)
        if now - run.window_start >= RATE_WINDOW:
            self._measured = run.window_frames / (now - run.window_start)
            run.window_start, run.window_frames = now, 0
            self._report()
        if self._state != STREAMING:
            self._set_state(STREAMING, str(self._negotiated))

    # -- failing -------------------------------------------------------------------------

    def _fail(self, state: str, detail: str) -> None:
        """The camera is lost: every stream hears it now, the service fails in ``serve``."""
        if self._lost is not None:
            return
        self._hub.detach(self)
        self._lose(CameraLost(f"the {self.role} camera ({self.name}) is {state}: {detail}"))
        self._stop_capture()
        self._set_state(state, detail)
        self._wake_serve()

    def _lose(self, error: CameraLost) -> None:
        self._lost = error
        for stream in self._streams:
            stream.queue.fail(CameraLost(str(error)))

    # -- reporting -----------------------------------------------------------------------

    def _check_mode(self, negotiated: Negotiated) -> None:
        mode = self._mode
        if self._kind != V4L2:
            return
        if negotiated.fourcc and negotiated.fourcc != mode.fourcc:
            _LOGGER.info(
                "%s: the camera does not offer %s; it delivers %s",
                self.name,
                mode.fourcc,
                negotiated.fourcc,
            )
        if (negotiated.width, negotiated.height) != (mode.width, mode.height):
            _LOGGER.info(
                "%s: asked for %dx%d, the camera gives %dx%d",
                self.name,
                mode.width,
                mode.height,
                negotiated.width,
                negotiated.height,
            )

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) == (self._state, self._detail):
            return
        self._state, self._detail = state, detail
        _LOGGER.info("%s: %s (%s)", self.name, state, detail)
        self._report()
        self._bus.publish(CameraStateChanged(self.role, self.name, state, detail))

    def _report(self) -> None:
        negotiated = self._negotiated
        self._hub.update(
            CameraInfo(
                role=self.role,
                id=self.name,
                port=self._spec.port,
                state=self._state,
                detail=self._detail,
                width=negotiated.width if negotiated else 0,
                height=negotiated.height if negotiated else 0,
                fps=negotiated.fps if negotiated else 0.0,
                measured_fps=round(self._measured, 1),
            )
        )

    def _wake_serve(self) -> None:
        if self._wake is not None:
            self._wake.set()


def _logged(task: asyncio.Future[None]) -> None:
    """A done-callback for the driver's own tasks: an unexpected failure is logged."""
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("camera driver task failed", exc_info=task.exception())
