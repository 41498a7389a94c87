"""The capture worker: one child process per camera that opens it, reads it and sends frames.

OpenCV and FFmpeg cost a process some 35 MB and parse whatever a camera or a network
stream sends; they stay out of the daemon. A camera driver starts its worker when it
needs the camera (the probe at start, the first stream), through the same process
plumbing as the face worker (:mod:`govkiosk.workerproc`: "spawn", the main module kept
back), and talks to it over the pipe in :mod:`.wire`'s messages, never pickles. The
worker exits when the pipe closes: the driver closes it once the camera has been idle
for ``[camera] worker_idle_exit`` seconds, and starts a new one on the next need.

:class:`CaptureWorker` is the driver's side. Messages are read on a thread of its own
(blocking reads never run on the loop) and handed to the loop, where the driver's
callback receives them; sends happen on the loop (they are a few bytes). A worker that
dies — a native crash in a decoder, the OOM killer, a kill — ends with one call of the
driver's ``on_exit`` callback saying how: the driver fails the capture that was running
(its readers hear :class:`~.errors.CameraLost`) and the daemon goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Callable, Optional

from ... import workerproc
from .errors import CameraError
from .sources import V4L2
from .wire import (
    MAX_MESSAGE,
    Credit,
    Failed,
    FrameData,
    Message,
    Open,
    Opened,
    Stop,
    Stopped,
    WireError,
    decode,
    encode,
)

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from .capture import Capture, Source

_LOGGER = logging.getLogger(__name__)

#: What ``ps`` calls a capture worker.
PROCESS_NAME = "govkiosk-camera"


# --- the worker's side ---------------------------------------------------------------------


def _why_unreadable(source: Source) -> str:
    if source.kind == V4L2 and not os.path.exists(source.target):
        return f"{source.target} is gone (unplugged?)"
    if source.kind == V4L2:
        return f"{source.target} cannot be read"
    return "the stream ended or broke off"


class _Child:
    """What the worker holds: at most one open camera, the run it serves and its credit."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.capture: Optional[Capture] = None
        self.run = 0
        self.credit = 0
        self.seq = 0

    def send(self, message: Message) -> None:
        self.conn.send_bytes(encode(message))

    def release(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None

    def handle(self, message: Message) -> None:
        if isinstance(message, Open):
            self.release()
            self.open(message)
        elif isinstance(message, Stop):
            if message.run == self.run:
                self.release()
            self.send(Stopped(message.run))
        elif isinstance(message, Credit) and message.run == self.run:
            self.credit += message.frames

    def open(self, message: Open) -> None:
        from .capture import Capture, source_of  # noqa: PLC0415 - OpenCV: this process only

        try:
            capture = Capture(
                source_of(message.port),
                message.mode,
                open_timeout=message.open_timeout,
                read_timeout=message.read_timeout,
            )
        except CameraError as err:
            self.send(Failed(message.run, str(err)))
            return
        except Exception as err:  # noqa: BLE001 - the driver hears every failure
            self.send(Failed(message.run, f"cannot be opened: {err}"))
            return
        if message.probe:
            capture.release()
            self.send(Opened(message.run, capture.negotiated, probe=True))
            return
        self.capture, self.run, self.credit, self.seq = capture, message.run, message.depth, 0
        self.send(Opened(message.run, capture.negotiated))

    def read(self, capture: Capture) -> None:
        try:
            image = capture.read()
        except CameraError as err:
            self.send(Failed(self.run, str(err)))
            self.release()
            return
        if image is None:
            self.send(Failed(self.run, _why_unreadable(capture.source)))
            self.release()
            return
        if self.credit <= 0:
            return  # the daemon has not taken the last frames: this one is dropped here
        self.credit -= 1
        self.seq += 1
        height, width = image.shape[:2]
        channels = image.shape[2] if image.ndim == 3 else 1
        pixels = image.reshape(-1).data if image.flags.c_contiguous else image.tobytes()
        at = time.monotonic()
        try:
            self.send(FrameData(self.run, self.seq, at, height, width, channels, pixels))
        finally:
            image.fill(0)

    def serve(self) -> None:
        while True:
            capture = self.capture
            if capture is None or self.conn.poll(0):
                self.handle(decode(self.conn.recv_bytes(MAX_MESSAGE)))
            else:
                self.read(capture)


def serve(conn: Connection) -> None:
    """The worker process's main function: answer the driver until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon decides when we stop
    workerproc.name_process(PROCESS_NAME)
    workerproc.normal_priority()
    child = _Child(conn)
    try:
        child.serve()
    except (EOFError, OSError, WireError):
        pass  # the daemon closed the pipe (or went away): nothing more to do
    finally:
        child.release()


# --- the daemon's side ---------------------------------------------------------------------


class CaptureWorker:
    """The driver's handle on its capture worker process (module docstring).

    ``on_message`` receives each message the worker sends, on the loop;
    ``on_exit(why)`` is called on the loop once for each worker that ended without
    :meth:`close` (killed, crashed, or a message that made no sense).
    """

    def __init__(
        self,
        name: str,
        on_message: Callable[[Message], None],
        on_exit: Callable[[str], None],
    ) -> None:
        self.name = name
        self._on_message = on_message
        self._on_exit = on_exit
        self._context = workerproc.context()
        self._process: Optional[BaseProcess] = None
        self._conn: Optional[Connection] = None
        self._lock: Optional[asyncio.Lock] = None
        #: Worker processes started so far.
        self.starts = 0

    @property
    def pid(self) -> Optional[int]:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    @property
    def running(self) -> bool:
        return self._conn is not None

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:  # made in the loop: on Python 3.8 a Lock binds to one
            self._lock = asyncio.Lock()
        return self._lock

    async def ensure(self) -> None:
        """Start the worker unless it runs."""
        async with self._guard():
            if self._conn is not None:
                return
            loop = asyncio.get_running_loop()
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=serve, args=(child,), name=f"govkiosk-camera {self.name}", daemon=True
            )
            try:
                await loop.run_in_executor(None, workerproc.spawn, process)
            except OSError as err:
                parent.close()
                child.close()
                raise CameraError(f"{self.name}: the capture worker cannot start: {err}") from err
            child.close()
            self._process, self._conn = process, parent
            self.starts += 1
            threading.Thread(
                target=self._read,
                args=(loop, process, parent),
                name=f"camera {self.name} reader",
                daemon=True,
            ).start()
            _LOGGER.debug("%s: capture worker %d started", self.name, process.pid)

    def send(self, message: Message) -> bool:
        """Send ``message`` to the running worker; False when there is none (or it is gone:
        ``on_exit`` follows)."""
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.send_bytes(encode(message))
        except (OSError, ValueError, TypeError):  # closed by the reader thread meanwhile
            return False
        return True

    async def close(self) -> None:
        """Stop the worker: it reads end of file, releases its camera and exits."""
        async with self._guard():
            process, conn = self._process, self._conn
            self._process = self._conn = None
            if process is None:
                return
            assert conn is not None
            workerproc.hang_up(conn)  # the reader thread closes it
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, workerproc.finish, process, None)
            _LOGGER.debug("%s: capture worker stopped", self.name)

    async def kill(self) -> None:
        """End a worker that does not answer in time, at once."""
        process = self._process
        if process is not None and process.is_alive():
            process.kill()
        await self.close()

    def _read(
        self, loop: asyncio.AbstractEventLoop, process: BaseProcess, conn: Connection
    ) -> None:
        """The reader thread: every message to the loop, then how the worker ended."""
        try:
            while True:
                try:
                    message = decode(conn.recv_bytes(MAX_MESSAGE))
                except (EOFError, OSError, TypeError):  # TypeError: closed under us
                    if conn is not self._conn:
                        return  # closed on purpose: nothing to report
                    why = f"the capture worker ended ({workerproc.ended(process)})"
                    break
                except WireError as err:
                    why = f"the capture worker was stopped: {err}"
                    process.kill()
                    break
                if not _call(loop, self._deliver, conn, message):
                    return
        finally:
            conn.close()
        _call(loop, self._ended, conn, why)

    def _deliver(self, conn: Connection, message: Message) -> None:
        if conn is self._conn:
            self._on_message(message)

    def _ended(self, conn: Connection, why: str) -> None:
        if conn is not self._conn:
            return  # closed on purpose
        self._process = self._conn = None
        _LOGGER.warning("%s: %s", self.name, why)
        self._on_exit(why)


def _call(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: object) -> bool:
    """From the reader thread: run ``callback`` on the loop; False once the loop is closed."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        return False
    return True


__all__ = ["CaptureWorker", "FrameData", "serve"]
