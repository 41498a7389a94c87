"""Child processes of the daemon that do native work: how they are started, stopped and described.

The face worker (:mod:`govkiosk.faceverify.worker`) and the camera capture worker
(:mod:`govkiosk.devices.camera.worker`) run code that may crash or that costs memory the
daemon should not carry (dlib, OpenCV, FFmpeg). Both are started with multiprocessing's
"spawn" method: a fresh interpreter, nothing of the daemon's threads or locks inherited.
What they share lives here:

- :func:`spawn` starts a process without passing the program's main module on to it;
- :func:`finish` closes its pipe, waits for it to exit and kills it when it does not;
- :func:`ended` says how a process ended, in words fit for a log or an error;
- :func:`rss` reads a process's resident memory;
- :func:`normal_priority` puts a child back at normal priority (the daemon runs at Nice=-5);
- :func:`name_process` gives a child the name ``ps`` shows (``govkiosk-face``, ``govkiosk-camera``);
- :func:`seen` marks a future's outcome as seen (a caller that gave up on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Iterator, Optional

if TYPE_CHECKING:
    from multiprocessing.context import SpawnContext
    from multiprocessing.process import BaseProcess

#: How long a stopping child may take to exit before it is killed.
STOP_GRACE = 2.0

_MAIN_LOCK = threading.Lock()


def context() -> SpawnContext:
    """The "spawn" multiprocessing context every worker is made with."""
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While a worker starts, the program's main module is not passed on to it.

    "spawn" re-runs the parent's main module in the child (so that functions defined
    there can be unpickled). The installed launchers call ``main()`` at their top level,
    unguarded: the worker would start a second daemon. A worker's target lives in a
    package module, so the main module is not needed; multiprocessing reads ``__file__``
    and ``__spec__`` of ``__main__`` only while the process starts.
    """
    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        if main is None:
            yield
            return
        saved = {name: main.__dict__.pop(name) for name in ("__file__",) if name in main.__dict__}
        spec = getattr(main, "__spec__", None)
        main.__spec__ = None
        try:
            yield
        finally:
            main.__dict__.update(saved)
            main.__spec__ = spec


def spawn(process: BaseProcess) -> None:
    """Start ``process`` (made from :func:`context`). Blocking: run it off the loop."""
    with _main_module_hidden():
        process.start()


def seen(future: asyncio.Future[Any]) -> None:
    """A done-callback: the future's exception (if any) counts as retrieved."""
    if not future.cancelled():
        future.exception()


def rss(pid: int) -> Optional[int]:
    """The resident memory of process ``pid`` in bytes; ``None`` when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def ended(process: BaseProcess, grace: float = STOP_GRACE) -> str:
    """How ``process`` ended (waiting ``grace`` seconds for it): ``killed by SIGKILL``,
    ``exit status 1``, or ``it stopped answering`` while it still runs. Blocking."""
    try:
        process.join(grace)
        code = process.exitcode
    except ValueError:  # closed: it was stopped
        return "stopped"
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def finish(process: BaseProcess, conn: Optional[Connection], grace: float = STOP_GRACE) -> None:
    """Close the pipe (the child reads end of file and exits), wait ``grace`` seconds,
    kill it if it is still there. Blocking: run it off the loop."""
    if conn is not None:
        hang_up(conn)
        conn.close()
    process.join(grace)
    if process.is_alive():
        process.kill()
        process.join(grace)
    if not process.is_alive():
        process.close()


def hang_up(conn: Connection) -> None:
    """Shut the pipe's socket down both ways: the child reads end of file, and so does a
    thread of ours blocked reading it (closing the descriptor alone wakes neither)."""
    with contextlib.suppress(OSError, ValueError), socket.socket(
        fileno=os.dup(conn.fileno())
    ) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def name_process(name: str) -> None:
    """In a child: the name ``ps``, ``top`` and ``/proc/<pid>/comm`` show (15 bytes at most),
    so an integrator (and the soak) can tell the workers apart."""
    with contextlib.suppress(OSError), open("/proc/self/comm", "w", encoding="ascii") as comm:
        comm.write(name[:15])


def normal_priority() -> None:
    """In a child: back to normal priority if the daemon's raised one was inherited.

    The daemon's unit raises its priority (Nice=-5: USB sealing must not wait behind the
    UI); a worker's seconds of CPU go back to normal priority, beside the UI.
    """
    with contextlib.suppress(OSError):
        if os.getpriority(os.PRIO_PROCESS, 0) < 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
