"""The browser host's link: the kiosk browser started in the kiosk user's session.

In production the daemon runs as system user ``govkiosk`` in a sandbox where Chromium
cannot run (``MemoryDenyWriteExecute``, a system-call filter, no display). The browser
host (``govkiosk-browser-host``, a systemd user unit in the kiosk user's graphical
session) connects to the daemon's socket (``[webapps] browser_host``) and starts the
browser on the daemon's request; the daemon drives it over the same DevTools pipe as a
browser it started itself, whose two ends the host hands over with ``SCM_RIGHTS``.

The protocol, one JSON object per ``SOCK_SEQPACKET`` message (each ending in a newline):

- daemon → host ``{"op": "start", "x": 0, "y": 172, "width": 1112, "height": 576}``: the
  window's geometry and nothing else. The host builds the browser's command line itself
  (:func:`..browser.browser_argv`); it never runs a command it is sent.
- host → daemon ``{"event": "started", "pid": N}`` with the pipe's two ends (the browser's
  replies to read, our commands to write), or ``{"event": "refused", "reason": "…"}``.
- daemon → host ``{"op": "kill"}``: end the browser now.
- host → daemon ``{"event": "exited", "code": N}`` once the browser ended, its process
  group is killed and its profile wiped (``code`` null: unknown).

If either side's connection drops, the host kills the browser and wipes its profile; the
daemon takes it as the browser's exit (the web-app session ends: W03). One browser at a
time. The daemon's side listens (0660) and checks each host's ``SO_PEERCRED`` against
``[webapps] browser_host_uids`` or the socket's group.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import grp
import json
import logging
import os
import socket
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from ..timeouts import wait_for
from .browser import BrowserLaunch, Window
from .errors import BrowserError

_LOGGER = logging.getLogger(__name__)

#: The largest message either side accepts; a longer one is refused, not cut.
MAX_MESSAGE = 4096
#: Window coordinates and sizes are kept to what a screen (or two) can hold.
MAX_COORDINATE = 100_000
#: How long a browser's start waits for a host that is not connected (restarting).
CONNECT_WAIT = 5.0
START_KEYS = frozenset({"op", "x", "y", "width", "height"})
_FD_SPACE = socket.CMSG_SPACE(2 * array.array("i").itemsize)
_CREDENTIALS = struct.Struct("3i")


class HostLinkError(BrowserError):
    """The browser host's link broke, refused a request or sent something unreadable."""


class HostProtocolError(HostLinkError):
    """A message of the browser host's protocol is malformed (unknown or extra fields,
    wrong types, not JSON)."""


class PeerRefusedError(HostLinkError):
    """A process that is not an allowed browser host connected to the host socket."""


@dataclass(frozen=True)
class Credentials:
    """``SO_PEERCRED`` of a unix socket's peer."""

    pid: int
    uid: int
    gid: int


# --- messages (pure) -------------------------------------------------------------------


def encode(message: Dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def _decode(data: bytes) -> Dict[str, Any]:
    if len(data) > MAX_MESSAGE:
        raise HostProtocolError("browser host message too long")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise HostProtocolError("unreadable browser host message") from exc
    if not isinstance(value, dict):
        raise HostProtocolError("browser host message is not an object")
    return value


def _coordinate(value: Any, name: str, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise HostProtocolError(f"start: {name} is not a whole number")
    if not low <= value <= MAX_COORDINATE:
        raise HostProtocolError(f"start: {name} out of range")
    return value


def start_message(window: Window) -> bytes:
    return encode(
        {
            "op": "start",
            "x": window.x,
            "y": window.y,
            "width": window.width,
            "height": window.height,
        }
    )


KILL_MESSAGE = encode({"op": "kill"})


@dataclass(frozen=True)
class Request:
    """What the daemon asks the host: ``start`` (with the window) or ``kill``."""

    op: str
    window: Optional[Window] = None


def parse_request(data: bytes) -> Request:
    """A daemon's request (host side); :class:`HostProtocolError` for anything but exactly
    a ``start`` with the window's four numbers or a bare ``kill``."""
    value = _decode(data)
    op = value.get("op")
    if op == "kill":
        if set(value) != {"op"}:
            raise HostProtocolError("kill: unexpected fields")
        return Request("kill")
    if op != "start":
        raise HostProtocolError("unknown browser host request")
    if set(value) != START_KEYS:
        raise HostProtocolError("start: only the window's x, y, width and height are accepted")
    window = Window(
        x=_coordinate(value["x"], "x", -MAX_COORDINATE),
        y=_coordinate(value["y"], "y", -MAX_COORDINATE),
        width=_coordinate(value["width"], "width", 1),
        height=_coordinate(value["height"], "height", 1),
    )
    return Request("start", window)


@dataclass(frozen=True)
class Report:
    """What the host tells the daemon: ``started`` (pid), ``refused`` or ``exited`` (code)."""

    event: str
    number: Optional[int] = None
    reason: str = ""


def parse_report(data: bytes) -> Report:
    """A host's report (daemon side); :class:`HostProtocolError` if malformed."""
    value = _decode(data)
    event = value.get("event")
    keys = {"started": "pid", "exited": "code", "refused": "reason"}.get(str(event))
    if keys is None or set(value) != {"event", keys}:
        raise HostProtocolError("unknown browser host report")
    field_value = value[keys]
    if event == "refused":
        if not isinstance(field_value, str):
            raise HostProtocolError("refused: reason is not text")
        return Report("refused", reason=field_value[:200])
    if field_value is None and event == "exited":
        return Report("exited")
    if not isinstance(field_value, int) or isinstance(field_value, bool):
        raise HostProtocolError(f"{event}: {keys} is not a whole number")
    return Report(str(event), number=field_value)


# --- the socket ------------------------------------------------------------------------


def peer_credentials(sock: socket.socket) -> Credentials:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
    pid, uid, gid = _CREDENTIALS.unpack(raw)
    return Credentials(pid, uid, gid)


def check_peer(sock: socket.socket, uids: Sequence[int], group: Optional[int]) -> Credentials:
    """The peer's credentials if its uid is in ``uids`` or its gid is ``group``;
    :class:`PeerRefusedError` otherwise."""
    peer = peer_credentials(sock)
    if peer.uid in uids or (group is not None and peer.gid == group):
        return peer
    raise PeerRefusedError(f"uid {peer.uid} is not an allowed browser host")


def _close_all(fds: Sequence[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


async def _ready(sock: socket.socket, write: bool) -> None:
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def wake() -> None:
        if not waiter.done():
            waiter.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await waiter
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def send(sock: socket.socket, data: bytes, fds: Sequence[int] = ()) -> None:
    """One message (with ``fds`` attached) on a non-blocking ``SOCK_SEQPACKET`` socket."""
    ancillary = []
    if fds:
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]
    while True:
        try:
            sock.sendmsg([data], ancillary)
        except BlockingIOError:
            await _ready(sock, write=True)
        except OSError as exc:
            raise HostLinkError(f"browser host link: {exc}") from exc
        else:
            return


async def receive(sock: socket.socket) -> Tuple[bytes, List[int]]:
    """One message and the descriptors it carried (ours to close); ``b""``: the peer left.
    A message cut short (too long, too many descriptors) is refused."""
    while True:
        try:
            data, ancillary, flags, _ = sock.recvmsg(
                MAX_MESSAGE + 1, _FD_SPACE, socket.MSG_CMSG_CLOEXEC
            )
            break
        except BlockingIOError:
            await _ready(sock, write=False)
        except OSError as exc:
            raise HostLinkError(f"browser host link: {exc}") from exc
    fds: List[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % array.array("i").itemsize
            fds.extend(array.array("i", payload[:usable]))
    if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(data) > MAX_MESSAGE:
        _close_all(fds)
        raise HostProtocolError("browser host message too long")
    return data, fds


def seqpacket() -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    sock.setblocking(False)
    return sock


# --- the daemon's side -----------------------------------------------------------------


class HostChild:
    """A browser the host started for us: its pipe ends are ours, its life the host's."""

    def __init__(self, link: HostSpawner, sock: socket.socket, pid: int, fds: List[int]) -> None:
        self._link = link
        self._sock = sock
        self._pid = pid
        self.read_fd, self.write_fd = fds
        self._exited: asyncio.Future[Optional[int]] = asyncio.get_running_loop().create_future()

    @property
    def pid(self) -> Optional[int]:
        """The browser's pid in the host's namespace (for the log only)."""
        return self._pid

    @property
    def profile(self) -> Optional[Path]:
        return None  # the host's, in the kiosk user's runtime directory

    def ended(self, code: Optional[int]) -> None:
        if not self._exited.done():
            self._exited.set_result(code)

    async def wait(self) -> Optional[int]:
        return await asyncio.shield(self._exited)

    def kill(self) -> None:
        if not self._exited.done():
            self._link.post_kill(self._sock)


class HostSpawner:
    """The daemon's end: listens on ``path`` for the browser host and asks it for browsers
    (:class:`..browser.Spawner`). One host at a time; a newer one replaces the older."""

    def __init__(
        self,
        path: Path,
        uids: Sequence[int] = (),
        *,
        group: str = "",
        start_timeout: float = 20.0,
    ) -> None:
        self.path = path
        self._uids = tuple(uids)
        self._group_name = group
        self._start_timeout = start_timeout
        self._server: Optional[socket.socket] = None
        self._accepting: Optional[asyncio.Task[None]] = None
        self._host: Optional[socket.socket] = None
        self._host_changed = asyncio.Event()
        self._reader: Optional[asyncio.Task[None]] = None
        self._child: Optional[HostChild] = None
        self._started: Optional[asyncio.Future[HostChild]] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        #: Set while a host is connected.
        self.connected = asyncio.Event()

    @property
    def group(self) -> Optional[int]:
        """The socket's group: a host whose gid is this is allowed."""
        try:
            return os.stat(self.path).st_gid
        except OSError:
            return None

    async def start(self) -> None:
        """Listen (0660; a stale socket file is replaced)."""
        sock = seqpacket()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                    os.unlink(self.path)
            old = os.umask(0o117)
            try:
                sock.bind(str(self.path))
            finally:
                os.umask(old)
            os.chmod(self.path, 0o660)
            if self._group_name:
                os.chown(self.path, -1, grp.getgrnam(self._group_name).gr_gid)
            sock.listen(2)
        except (OSError, KeyError) as exc:
            sock.close()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise HostLinkError(
                f"cannot listen for the browser host on {self.path}: {exc}"
            ) from exc
        self._server = sock
        self._accepting = asyncio.ensure_future(self._accept())

    async def serve(self) -> None:
        """Until the listening socket fails (raises :class:`HostLinkError`) or cancelled."""
        if self._accepting is not None:
            await asyncio.shield(self._accepting)

    async def stop(self) -> None:
        for task in (self._accepting, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._drop()
        if self._server is not None:
            self._server.close()
            self._server = None
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    async def _accept(self) -> None:
        assert self._server is not None
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(self._server)
            except OSError as exc:
                raise HostLinkError(f"cannot accept the browser host: {exc}") from exc
            conn.setblocking(False)
            try:
                peer = check_peer(conn, self._uids, self.group)
            except (PeerRefusedError, OSError) as exc:
                _LOGGER.warning("webapps: refused a browser host: %s", exc)
                conn.close()
                continue
            _LOGGER.info("webapps: the browser host connected (uid %d)", peer.uid)
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
            self._drop()
            self._host = conn
            self.connected.set()
            self._reader = asyncio.ensure_future(self._read(conn))

    async def _read(self, conn: socket.socket) -> None:
        try:
            while True:
                data, fds = await receive(conn)
                if not data:
                    _close_all(fds)
                    _LOGGER.warning("webapps: the browser host left")
                    return
                self._report(conn, data, fds)
        except HostLinkError as exc:
            _LOGGER.warning("webapps: dropped the browser host: %s", exc)
        finally:
            if self._host is conn:
                self._drop()

    def _report(self, conn: socket.socket, data: bytes, fds: List[int]) -> None:
        report = parse_report(data)  # HostProtocolError drops the host
        if report.event == "started":
            started = self._started
            if started is None or started.done() or len(fds) != 2:
                _close_all(fds)
                raise HostProtocolError("an unasked browser or not two pipe ends")
            child = self._child = HostChild(self, conn, report.number or 0, fds)
            started.set_result(child)
            return
        _close_all(fds)
        if fds:
            raise HostProtocolError("descriptors on a report that carries none")
        if report.event == "refused":
            if self._started is not None and not self._started.done():
                self._started.set_exception(
                    HostLinkError(f"the browser host refused: {report.reason}")
                )
            return
        if self._child is not None:  # exited
            self._child.ended(report.number)
            self._child = None

    def _drop(self) -> None:
        """The host is gone: its browser is (it kills it), a start waiting fails."""
        if self._host is not None:
            self._host.close()
            self._host = None
        self.connected.clear()
        if self._started is not None and not self._started.done():
            self._started.set_exception(HostLinkError("the browser host left"))
        if self._child is not None:
            self._child.ended(None)
            self._child = None

    def post_kill(self, conn: socket.socket) -> None:
        if conn is not self._host:
            return
        task = asyncio.ensure_future(self._send_kill(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_kill(self, conn: socket.socket) -> None:
        try:
            await send(conn, KILL_MESSAGE)
        except HostLinkError as exc:
            _LOGGER.warning("webapps: cannot ask the browser host to kill: %s", exc)

    async def spawn(self, launch: BrowserLaunch) -> HostChild:
        """Ask the host for a browser with ``launch.window``; only the geometry is sent. A
        host (re)connecting is waited for :data:`CONNECT_WAIT` seconds."""
        if self._host is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self.connected.wait(), CONNECT_WAIT)
        conn = self._host
        if conn is None:
            raise HostLinkError("no browser host is connected")
        if self._child is not None or (self._started is not None and not self._started.done()):
            raise HostLinkError("the browser host already runs a browser")
        started: asyncio.Future[HostChild] = asyncio.get_running_loop().create_future()
        self._started = started
        await send(conn, start_message(launch.window))
        try:
            return await wait_for(asyncio.shield(started), self._start_timeout)
        except asyncio.TimeoutError as exc:
            raise HostLinkError("the browser host did not start the browser in time") from exc
        except asyncio.CancelledError:
            # Cancelled as the browser came up: nobody will own it, so it must not live on
            # (the host would refuse every later start).
            if started.done() and not started.cancelled() and started.exception() is None:
                orphan = started.result()
                orphan.kill()
                _close_all((orphan.read_fd, orphan.write_fd))
            raise
        finally:
            if not started.done():
                started.cancel()
