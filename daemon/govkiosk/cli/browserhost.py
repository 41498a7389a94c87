"""``govkiosk-browser-host``: starts the kiosk browser in the kiosk user's session for the daemon.

Run as the systemd user unit ``govkiosk-browser.service`` beside the UI (same graphical
session, its ``DISPLAY``). It connects to the daemon's socket (``--socket``, default
``/run/govkiosk/browser.sock``) and waits; on a ``start`` request (the window's geometry,
nothing else) it starts the browser it was configured with (``--browser``) with the
daemon's own command line (``webapps/browser.py``), a fresh 0700 profile under
``$XDG_RUNTIME_DIR/govkiosk-browser``, and hands the DevTools pipe's two ends to the daemon
(``webapps/hostlink.py``). When the browser ends it kills its process group, wipes the
profile and reports ``exited``; when the daemon's connection drops it kills the browser,
wipes, and connects again. One browser at a time. It talks only to a listener whose uid
owns the socket's directory (the daemon's user for ``/run/govkiosk``).

``--test-arg`` adds a browser switch (tests only: ``--headless=new``, ``--no-sandbox``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Set

from ..contract.connection import Backoff
from ..contract.logs import setup_logging
from ..webapps.browser import (
    BrowserLaunch,
    LocalChild,
    LocalSpawner,
    Window,
    wipe_stale_profiles,
)
from ..webapps.errors import BrowserError
from ..webapps.hostlink import (
    HostLinkError,
    HostProtocolError,
    encode,
    parse_request,
    peer_credentials,
    receive,
    send,
    seqpacket,
)

_LOGGER = logging.getLogger("govkiosk.browserhost")

DEFAULT_SOCKET = "/run/govkiosk/browser.sock"


def profile_dir() -> Path:
    """``$XDG_RUNTIME_DIR/govkiosk-browser`` (a tmpfs of the kiosk user's), else under /tmp."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "govkiosk-browser"
    return Path(tempfile.gettempdir()) / f"govkiosk-browser-{os.getuid()}"


class BrowserHost:
    """One connection to the daemon at a time, one browser at a time."""

    def __init__(
        self, socket_path: Path, command: Sequence[str], extra_args: Sequence[str] = ()
    ) -> None:
        self.socket_path = socket_path
        self.command = tuple(command)
        self.extra_args = tuple(extra_args)
        self.runtime_dir = profile_dir()
        self._spawner = LocalSpawner()
        self._child: Optional[LocalChild] = None
        self._tasks: Set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Connect, serve, reconnect (capped backoff) until cancelled."""
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        wipe_stale_profiles(self.runtime_dir)
        backoff = Backoff()
        failures = 0
        while True:
            sock = seqpacket()
            try:
                await asyncio.get_running_loop().sock_connect(sock, str(self.socket_path))
            except OSError as exc:
                sock.close()
                failures += 1
                log = _LOGGER.warning if failures == 1 else _LOGGER.debug
                log("cannot reach the daemon at %s (%s)", self.socket_path, exc)
                await asyncio.sleep(backoff.delay(failures))
                continue
            if not self._trusted(sock):
                sock.close()
                failures += 1
                await asyncio.sleep(backoff.delay(failures))
                continue
            failures = 0
            _LOGGER.info("connected to the daemon at %s", self.socket_path)
            try:
                await self.serve(sock)
            except HostLinkError as exc:
                _LOGGER.warning("the daemon's link broke: %s", exc)
            finally:
                sock.close()
                await self._end_browser()

    def _trusted(self, sock: socket.socket) -> bool:
        """Whether the listener is the owner of the socket's directory (``/run/govkiosk``:
        the daemon's user), so no other user can pose as the daemon."""
        try:
            owner = os.stat(self.socket_path.parent).st_uid
            peer = peer_credentials(sock)
        except OSError as exc:
            _LOGGER.warning("cannot check the daemon's socket: %s", exc)
            return False
        if peer.uid != owner:
            _LOGGER.warning(
                "refused %s: served by uid %d, not its directory's owner %d",
                self.socket_path,
                peer.uid,
                owner,
            )
            return False
        return True

    async def serve(self, sock: socket.socket) -> None:
        """Requests until the daemon leaves or breaks the protocol."""
        while True:
            try:
                data, fds = await receive(sock)
            except HostLinkError as exc:
                _LOGGER.warning("the daemon's link broke: %s", exc)
                return
            for fd in fds:  # the daemon sends no descriptors
                os.close(fd)
            if not data:
                _LOGGER.warning("the daemon left; the browser is closed")
                return
            try:
                request = parse_request(data)
            except HostProtocolError as exc:
                _LOGGER.warning("refused a request: %s", exc)
                await send(sock, encode({"event": "refused", "reason": str(exc)}))
                continue
            if request.op == "kill":
                if self._child is not None:
                    self._child.kill()
                continue
            await self._start(sock, request.window)

    async def _start(self, sock: socket.socket, window: Optional[Window]) -> None:
        if self._child is not None:
            await send(sock, encode({"event": "refused", "reason": "a browser already runs"}))
            return
        launch = BrowserLaunch(
            runtime_dir=self.runtime_dir,
            command=self.command,
            window=window or Window(),
            extra_args=self.extra_args,
        )
        try:
            child = await self._spawner.spawn(launch)
        except BrowserError as exc:
            _LOGGER.warning("cannot start the browser: %s", exc)
            await send(sock, encode({"event": "refused", "reason": "the browser did not start"}))
            return
        self._child = child
        try:
            await send(
                sock,
                encode({"event": "started", "pid": child.pid}),
                (child.read_fd, child.write_fd),
            )
        finally:
            os.close(child.read_fd)
            os.close(child.write_fd)
        _LOGGER.info("started the browser (pid %s)", child.pid)
        task = asyncio.ensure_future(self._watch(sock, child))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, sock: socket.socket, child: LocalChild) -> None:
        code = await child.wait()  # kills the process group, wipes the profile
        if self._child is child:
            self._child = None
        _LOGGER.info("the browser exited (status %s)", code)
        with contextlib.suppress(HostLinkError):
            await send(sock, encode({"event": "exited", "code": code}))

    async def _end_browser(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            await child.wait()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="govkiosk-browser-host",
        description="Start the kiosk browser in this graphical session for govkioskd.",
    )
    parser.add_argument("--socket", default=DEFAULT_SOCKET, help="the daemon's browser socket")
    parser.add_argument(
        "--browser", default="chromium", help="the browser's command (split like shell words)"
    )
    parser.add_argument(
        "--test-arg", action="append", default=[], help="a browser switch for tests only"
    )
    parser.add_argument("--debug", action="store_true")
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> None:
    host = BrowserHost(
        Path(args.socket), tuple(shlex.split(args.browser)) or ("chromium",), args.test_arg
    )
    loop = asyncio.get_running_loop()
    runner = asyncio.ensure_future(host.run())
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, runner.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await runner


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_logging("debug" if args.debug else "info", stream=sys.stderr)
    asyncio.run(_main(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
