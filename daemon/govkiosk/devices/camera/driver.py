"""The camera driver: a supervised service that captures only while somebody watches.

At start it opens the camera once to prove it is there (and to read back the mode it
agreed to), releases it, attaches itself to the :class:`~.hub.CameraHub` and says
``ready``. An idle kiosk captures nothing: the first :meth:`CameraHub.stream` of its role
starts ONE capture thread, which every further stream shares; the last one leaving stops
it. The thread is the only place frames are read (blocking OpenCV calls never run on the
loop); it hands each frame to the loop with ``loop.call_soon_threadsafe``, where it goes
into every stream's drop-oldest queue.

A camera that stops delivering is lost: no frame for ``stall_after`` seconds (``stalled``)
or a failed open or read (``gone``: unplugged, the simulator away). Every open stream's
``next`` then raises :class:`CameraLost` at once, :class:`CameraStateChanged` says why,
the driver leaves the hub (new streams are refused with ``CameraUnavailable``) and fails,
so the supervisor reopens it with backoff. Once it opens again, new streams work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from typing import Callable, List, Optional

from ...bus import EventBus
from ...supervisor import Service
from ...timeouts import wait_for
from ..spec import DeviceSpec
from .capture import V4L2, Capture, Negotiated, Source, probe, source_of
from .errors import CameraError, CameraLost, CameraUnavailable
from .events import GONE, READY, STALLED, STREAMING, CameraStateChanged
from .frames import Frame, FrameQueue, FrameStream
from .hub import CameraHub, CameraInfo
from .settings import CameraSettings, Mode

_LOGGER = logging.getLogger(__name__)

#: How often the delivered frame rate is brought up to date while streaming.
RATE_WINDOW = 1.0
#: A capture thread keeps the previous one's device for at most this long after it was
#: told to stop (a read blocked on a silent camera); the new one waits for it.
HANDOVER = 5.0


class _Run:
    """One capture thread's life: started for the first stream, stopped after the last.

    What the thread reads (loop, source, mode, settings, the thread before it) is fixed
    here when it starts; what it changes (``stop``, ``slots``) is thread-safe.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        source: Source,
        mode: Mode,
        settings: CameraSettings,
        previous: Optional[threading.Thread],
    ) -> None:
        self.loop = loop
        self.source = source
        self.mode = mode
        self.settings = settings
        self.previous = previous
        self.stop = threading.Event()
        #: Frames handed to the loop and not yet delivered: a blocked loop makes the
        #: thread drop frames instead of piling them up in the loop's callback queue.
        self.slots = threading.BoundedSemaphore(max(2, settings.queue_depth))
        self.thread: Optional[threading.Thread] = None
        self.frames = 0  #: delivered in this run
        self.skipped = 0  #: read while the loop had not taken the previous ones (thread only)
        self.window_start = 0.0
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
        self._source: Optional[Source] = None
        self._negotiated: Optional[Negotiated] = None
        self._streams: List[FrameStream] = []
        self._run: Optional[_Run] = None
        self._previous: Optional[threading.Thread] = None
        self._lost: Optional[CameraLost] = None
        self._last_at = 0.0
        self._measured = 0.0
        self._state = ""
        self._detail = ""
        self._wake: Optional[asyncio.Event] = None

    # -- what tests and the hub look at -------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def capturing(self) -> bool:
        """A capture thread is running (or still finishing its last read)."""
        threads = [self._previous, self._run.thread if self._run else None]
        return any(t is not None and t.is_alive() for t in threads)

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
        self._source = None
        self._wake = asyncio.Event()
        open_timeout = self._settings.open_timeout
        loop = asyncio.get_running_loop()
        try:
            source = source_of(self._spec.port)
            self._negotiated = await wait_for(
                loop.run_in_executor(None, probe, source, self._mode, open_timeout),
                2 * open_timeout,
            )
        except asyncio.TimeoutError:
            self._set_state(GONE, f"not opened within {2 * open_timeout:g} s")
            raise CameraError(f"{self.name}: not opened within {2 * open_timeout:g} s") from None
        except CameraError as err:
            self._set_state(GONE, str(err))
            raise
        self._source = source
        self._check_mode(self._negotiated)
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
        if self._state not in (STALLED, GONE):
            self._set_state(GONE, "driver stopped")

    # -- streams (called by the hub, on the loop) ----------------------------------------

    def open_stream(self) -> FrameStream:
        if self._lost is not None or self._source is None:
            raise CameraUnavailable(f"the {self.role} camera ({self.name}) is not available")
        stream = FrameStream(self.role, self.name, FrameQueue(self._settings.queue_depth))
        self._streams.append(stream)
        if self._run is None:
            self._start_capture(self._source)
        return stream

    def close_stream(self, stream: FrameStream) -> None:
        if stream not in self._streams:
            return  # a stream of a run that was lost (this driver has restarted since)
        self._streams.remove(stream)
        if not self._streams and self._run is not None:
            self._stop_capture()
            if self._lost is None:
                self._set_state(READY, str(self._negotiated))

    # -- capture -------------------------------------------------------------------------

    def _start_capture(self, source: Source) -> None:
        loop = asyncio.get_running_loop()
        run = _Run(loop, source, self._mode, self._settings, self._previous)
        self._run = run
        now = self._clock()
        # The first frame may take as long as an open; from then on, stall_after applies.
        self._last_at = now + self._settings.open_timeout
        run.window_start = now
        run.thread = threading.Thread(
            target=self._capture,
            args=(run,),
            name=f"camera {self.name}",
            daemon=True,
        )
        run.thread.start()
        _LOGGER.debug("%s: capture started", self.name)
        self._wake_serve()

    def _stop_capture(self) -> None:
        run = self._run
        if run is None:
            return
        self._run = None
        run.stop.set()
        self._previous = run.thread
        self._measured = 0.0
        _LOGGER.debug(
            "%s: capture stopped after %d frames (%d skipped while the loop was busy)",
            self.name,
            run.frames,
            run.skipped,
        )
        self._wake_serve()

    def _capture(self, run: _Run) -> None:
        """The capture thread: open, read until told to stop or the camera fails, release.

        It changes nothing of the driver's but ``run`` and hands everything else to the
        loop, where a callback from a run that is no longer current is ignored.
        """
        loop, source = run.loop, run.source
        if run.previous is not None:
            run.previous.join(HANDOVER)  # a V4L2 node opens once at a time
        try:
            capture = Capture(
                source,
                run.mode,
                open_timeout=run.settings.open_timeout,
                read_timeout=run.settings.stall_after + 1.0,
            )
        except CameraError as err:
            _call(loop, self._on_failed, run, GONE, str(err))
            return
        except Exception as err:
            _LOGGER.exception("%s: opening failed unexpectedly", self.name)
            _call(loop, self._on_failed, run, GONE, f"cannot be opened: {err}")
            return
        try:
            _call(loop, self._on_opened, run, capture.negotiated)
            seq = 0
            while not run.stop.is_set():
                image = capture.read()
                if run.stop.is_set():
                    break
                if image is None:
                    _call(loop, self._on_failed, run, GONE, _why_unreadable(source))
                    break
                if not run.slots.acquire(blocking=False):
                    run.skipped += 1  # the loop has not taken the last frames: dropped here
                    continue
                seq += 1
                frame = Frame(image, seq, time.monotonic(), self.role)
                if not _call(loop, self._on_frame, run, frame):
                    break
        except CameraError as err:
            _call(loop, self._on_failed, run, GONE, str(err))
        except Exception as err:
            _LOGGER.exception("%s: capture failed unexpectedly", self.name)
            _call(loop, self._on_failed, run, GONE, f"capture failed: {err}")
        finally:
            capture.release()

    # -- on the loop, from the capture thread ---------------------------------------------

    def _on_opened(self, run: _Run, negotiated: Negotiated) -> None:
        if run is not self._run:
            return
        self._last_at = self._clock()
        if negotiated != self._negotiated:
            self._negotiated = negotiated
            self._check_mode(negotiated)
        self._wake_serve()

    def _on_frame(self, run: _Run, frame: Frame) -> None:
        run.slots.release()
        if run is not self._run:
            return
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

    def _on_failed(self, run: _Run, state: str, detail: str) -> None:
        if run is self._run:
            self._fail(state, detail)

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
        if self._source is None or self._source.kind != V4L2:
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


def _call(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: object) -> bool:
    """From the capture thread: run ``callback`` on the loop; False once the loop is closed."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        return False
    return True


def _why_unreadable(source: Source) -> str:
    if source.kind == V4L2 and not os.path.exists(source.target):
        return f"{source.target} is gone (unplugged?)"
    if source.kind == V4L2:
        return f"{source.target} cannot be read"
    return "the stream ended or broke off"
