"""The face worker: all inference, and the vendor's photo library, in one child process.

The daemon is an asyncio program with threads; dlib and a vendor's C library are
native code that may crash, and a frame may take long. So they run in one child
process, started with multiprocessing's "spawn" method (a fresh interpreter: nothing
of the daemon's threads or locks is inherited), which loads the model once and answers
calls over a pipe, one at a time.

:class:`FaceWorker` is the daemon's side. ``await worker.call(method, *args)`` sends a
call and waits for its answer on a dedicated thread (``loop.run_in_executor``), so the
event loop never blocks on the pipe; every call has a time limit. A worker that dies
mid-call (a native crash, the OOM killer, a kill) fails that call with
:class:`WorkerCrashed`; one that overruns its limit is killed and the call fails with
:class:`WorkerTimeout`; either way the next call starts a new worker. Frames are scaled
down to 640×480 before they are sent (:func:`analysis.fit`), on that thread.

What crosses the pipe — frames, the card's photo, embeddings — stays in memory: the
worker writes no file and logs nothing (§8 d).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .. import workerproc
from ..timeouts import wait_for
from .analysis import FrameReport, FrameRequest, analyse, fit
from .errors import BY_NAME, FaceError, WorkerCrashed, WorkerError, WorkerTimeout
from .model import FaceModel, FoundFace
from .photo import PhotoDecoder, decoder_for, decoder_key
from .settings import FaceSettings

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from numpy.typing import NDArray

    Image = NDArray[np.uint8]
    Vector = NDArray[np.float64]

# --- the child's side ---------------------------------------------------------------------


class _Child:
    """What the worker process holds: the model and the decoders it has built."""

    def __init__(self, model_dir: str) -> None:
        self.model = FaceModel(model_dir)
        self.decoders: Dict[Tuple[object, ...], PhotoDecoder] = {}

    def ping(self) -> int:
        return os.getpid()

    def card(self, blob: bytes, settings: FaceSettings) -> Vector:
        key = decoder_key(settings)
        if key not in self.decoders:
            self.decoders[key] = decoder_for(settings)
        photo = self.decoders[key].decode(blob)
        return self.model.card_embedding(photo)

    def analyse(self, request: FrameRequest) -> FrameReport:
        return analyse(self.model, request)

    def faces(self, image: Image) -> List[FoundFace]:
        return self.model.faces_in_image(image)


_METHODS = ("ping", "card", "analyse", "faces")


def _dispatch(child: _Child, method: str, args: Tuple[Any, ...]) -> Any:
    if method not in _METHODS:
        raise FaceError(f"the face worker has no method {method!r}")
    return getattr(child, method)(*args)


def serve(conn: Connection, model_dir: str) -> None:
    """The worker process's main function: load the model, then answer calls until the
    pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon decides when we stop
    workerproc.name_process("govkiosk-face")
    workerproc.normal_priority()
    try:
        child = _Child(model_dir)
    except FaceError as err:
        conn.send(("failed", type(err).__name__, str(err)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            seq, method, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: Tuple[Any, ...] = (seq, "ok", _dispatch(child, method, args))
        except FaceError as err:
            reply = (seq, "error", type(err).__name__, str(err))
        except Exception as err:  # noqa: BLE001 - every call gets an answer
            reply = (seq, "error", "FaceError", f"{method}: {type(err).__name__}: {err}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


# --- the daemon's side ---------------------------------------------------------------------


def _exchange(conn: Connection, message: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """Send one call and wait for its answer (on the worker's thread)."""
    seq, method, args = message
    if method == "analyse":
        request: FrameRequest = args[0]
        ir = fit(request.ir) if request.ir is not None else None
        args = (dataclasses.replace(request, rgb=fit(request.rgb), ir=ir),)
    conn.send((seq, method, args))
    while True:
        reply: Tuple[Any, ...] = conn.recv()
        if reply[0] == seq:
            return reply
        # an answer to a call whose caller gave up: dropped


class FaceWorker:
    """The daemon's handle on the face worker process (module docstring).

    ``settings`` is the ``[face]`` section's getter: ``model_dir``, ``call_timeout`` and
    ``start_timeout`` are read at each call; a changed ``model_dir`` restarts the worker.
    """

    def __init__(self, settings: Callable[[], FaceSettings]) -> None:
        self._settings = settings
        self._context = workerproc.context()
        self._executor: Optional[ThreadPoolExecutor] = None
        self._process: Optional[BaseProcess] = None
        self._conn: Optional[Connection] = None
        self._model_dir = ""
        self._lock: Optional[asyncio.Lock] = None
        self._seq = 0
        #: Worker processes started so far (a restart adds one).
        self.starts = 0

    @property
    def pid(self) -> Optional[int]:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def rss(self) -> Optional[int]:
        """The worker's resident memory in bytes; ``None`` when it is not running."""
        pid = self.pid
        return workerproc.rss(pid) if pid is not None else None

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:  # made in the loop: on Python 3.8 a Lock binds to one
            self._lock = asyncio.Lock()
        return self._lock

    async def start(self) -> None:
        """Start the worker and load the model, unless it runs already."""
        async with self._guard():
            await self._ensure()

    async def stop(self) -> None:
        """Stop the worker (the next call starts a new one)."""
        async with self._guard():
            await self._stop()

    async def close(self) -> None:
        """Stop the worker and release its thread (a later call starts both again)."""
        await self.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _thread(self) -> ThreadPoolExecutor:
        """The thread that talks to the worker (made again after :meth:`close`)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="face-worker")
        return self._executor

    async def _ensure(self) -> None:
        settings = self._settings()
        process = self._process
        if process is not None and process.is_alive() and self._model_dir == settings.model_dir:
            return
        await self._stop()
        loop = asyncio.get_running_loop()
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(child, settings.model_dir), name="govkiosk-face", daemon=True
        )
        await loop.run_in_executor(self._thread(), workerproc.spawn, process)
        child.close()
        self._process, self._conn, self._model_dir = process, parent, settings.model_dir
        self.starts += 1
        try:
            ready = await wait_for(
                loop.run_in_executor(self._thread(), parent.recv), settings.start_timeout
            )
        except asyncio.TimeoutError:
            await self._stop()
            raise WorkerTimeout(
                f"the face worker did not load its model in {settings.start_timeout:g} s"
            ) from None
        except (EOFError, OSError):
            why = workerproc.ended(process)
            await self._stop()
            raise WorkerCrashed(f"the face worker died while loading its model ({why})") from None
        if ready[0] != "ready":
            await self._stop()
            raise BY_NAME.get(ready[1], FaceError)(ready[2])

    async def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None or conn is None:
            return
        # the worker reads end of file and exits
        await asyncio.get_running_loop().run_in_executor(None, workerproc.finish, process, conn)

    async def call(self, method: str, *args: Any, timeout: Optional[float] = None) -> Any:
        """Call ``method`` in the worker, starting it if needed; its result, or the
        :class:`FaceError` it raised, or a :class:`WorkerError`."""
        async with self._guard():
            await self._ensure()
            process, conn = self._process, self._conn
            assert process is not None
            assert conn is not None
            limit = self._settings().call_timeout if timeout is None else timeout
            self._seq += 1
            loop = asyncio.get_running_loop()
            exchange = loop.run_in_executor(
                self._thread(), _exchange, conn, (self._seq, method, args)
            )
            # A caller that gave up (timeout, cancellation) leaves the exchange running on
            # its thread; whatever it ends with is then nobody's: marked as seen here.
            exchange.add_done_callback(workerproc.seen)
            try:
                reply = await wait_for(asyncio.shield(exchange), limit)
            except asyncio.TimeoutError:
                process.kill()  # the exchange's thread reads end of file and returns
                await asyncio.wait({exchange})
                await self._stop()
                raise WorkerTimeout(
                    f"the face worker took longer than {limit:g} s over {method}; restarting it"
                ) from None
            except (EOFError, OSError) as err:
                why = await loop.run_in_executor(None, workerproc.ended, process)
                await self._stop()
                raise WorkerCrashed(f"the face worker died during {method} ({why})") from err
            if reply[1] == "ok":
                return reply[2]
            raise BY_NAME.get(reply[2], FaceError)(reply[3])

    # --- typed calls -------------------------------------------------------------------

    async def ping(self) -> int:
        """The worker's process id, once it answers."""
        pid: int = await self.call("ping")
        return pid

    async def card_embedding(self, blob: bytes, settings: FaceSettings) -> Vector:
        """Decode a card's photo with ``settings``' decoder and embed its face."""
        vector: Vector = await self.call("card", bytes(blob), settings)
        return vector

    async def analyse(self, request: FrameRequest, timeout: Optional[float] = None) -> FrameReport:
        report: FrameReport = await self.call("analyse", request, timeout=timeout)
        return report

    async def faces(self, image: Image) -> List[FoundFace]:
        found: List[FoundFace] = await self.call("faces", image)
        return found


__all__ = ["FaceWorker", "WorkerCrashed", "WorkerError", "WorkerTimeout", "serve"]
