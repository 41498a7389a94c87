"""The browser host: the kiosk browser started in the kiosk user's session for the daemon.

Real processes: ``govkiosk-browser-host`` runs as a subprocess (this tree on its
PYTHONPATH), the daemon's end (:class:`HostSpawner`) listens on a socket under tmp_path,
and Chromium runs headless with the test-only switches the host takes as ``--test-arg``.
"""

from __future__ import annotations

import asyncio
import grp
import json
import os
import shutil
import signal
import socket
import stat
import sys
from pathlib import Path
from typing import AsyncIterator, List, NamedTuple, Sequence, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.webapps import hostlink
from govkiosk.webapps.browser import BrowserLaunch, KioskBrowser, Window, launcher
from govkiosk.webapps.errors import BrowserError
from govkiosk.webapps.hostlink import (
    MAX_MESSAGE,
    HostLinkError,
    HostProtocolError,
    HostSpawner,
    PeerRefusedError,
    check_peer,
    encode,
    parse_report,
    parse_request,
    peer_credentials,
    receive,
    send,
    seqpacket,
    start_message,
)
from govkiosk.webapps.settings import WebAppsSettings
from harness.browser import CHROMIUM, HttpsSite, browser_args, needs_chromium
from harness.eventually import eventually


class Origins(NamedTuple):
    """The part of a web-app manifest the browser reads."""

    origins: Sequence[str]


HOME = '<!doctype html><meta charset="utf-8"><title>home</title><h1>社保</h1>'


# --- the protocol (pure) ----------------------------------------------------------------


def test_start_round_trip() -> None:
    request = parse_request(start_message(Window(10, 172, 1112, 576)))
    assert request.op == "start"
    assert request.window == Window(10, 172, 1112, 576)
    assert parse_request(encode({"op": "kill"})).op == "kill"


@pytest.mark.parametrize(
    "message",
    [
        {"op": "start", "x": 0, "y": 0, "width": 10, "height": 10, "command": ["sh"]},
        {"op": "start", "x": 0, "y": 0, "width": 10, "height": 10, "args": "--no-sandbox"},
        {"op": "start", "x": 0, "y": 0, "width": 10},
        {"op": "start", "x": 0, "y": 0, "width": 0, "height": 10},
        {"op": "start", "x": True, "y": 0, "width": 10, "height": 10},
        {"op": "start", "x": 0.5, "y": 0, "width": 10, "height": 10},
        {"op": "start", "x": "0", "y": 0, "width": 10, "height": 10},
        {"op": "start", "x": 0, "y": 0, "width": 10**9, "height": 10},
        {"op": "kill", "pid": 1},
        {"op": "run", "argv": ["/bin/sh"]},
        {},
    ],
)
def test_requests_other_than_exact_start_or_kill_are_refused(message: object) -> None:
    with pytest.raises(HostProtocolError):
        parse_request(json.dumps(message).encode())


@pytest.mark.parametrize(
    "data", [b"", b"\xff\xfe", b"[1]", b"null", b"{", b"x" * (MAX_MESSAGE + 1)]
)
def test_garbage_requests_are_refused(data: bytes) -> None:
    with pytest.raises(HostProtocolError):
        parse_request(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_request_bytes(data: bytes) -> None:
    try:
        request = parse_request(data)
    except HostProtocolError:
        return
    assert request.op in ("start", "kill")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["op", "x", "y", "width", "height", "argv", "env", ""]), JSON, max_size=7
    )
)
def test_fuzz_request_objects(value: dict) -> None:  # type: ignore[type-arg]
    try:
        request = parse_request(json.dumps(value).encode())
    except HostProtocolError:
        return
    # Whatever is accepted is exactly a start with four whole numbers or a bare kill.
    if request.op == "kill":
        assert value == {"op": "kill"}
    else:
        assert set(value) == {"op", "x", "y", "width", "height"}
        assert request.window is not None
        assert request.window.width >= 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_fuzz_reports(data: bytes) -> None:
    try:
        report = parse_report(data)
    except HostProtocolError:
        return
    assert report.event in ("started", "exited", "refused")


# --- the socket ---------------------------------------------------------------------------


def test_peer_credentials_are_checked() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, theirs:
        peer = peer_credentials(ours)
        assert (peer.uid, peer.gid, peer.pid) == (os.getuid(), os.getgid(), os.getpid())
        assert check_peer(ours, (os.getuid(),), None).uid == os.getuid()
        assert check_peer(ours, (), os.getgid()).gid == os.getgid()
        with pytest.raises(PeerRefusedError):
            check_peer(ours, (os.getuid() + 1,), os.getgid() + 1)
        with pytest.raises(PeerRefusedError):
            check_peer(ours, (), None)


async def test_descriptors_pass_and_long_messages_are_refused() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    left.setblocking(False)
    right.setblocking(False)
    read_fd, write_fd = os.pipe()
    try:
        await send(left, b"hello\n", (read_fd, write_fd))
        data, fds = await receive(right)
        assert data == b"hello\n"
        assert len(fds) == 2
        os.write(fds[1], b"through")
        assert os.read(read_fd, 16) == b"through"
        for fd in fds:
            os.close(fd)
        await send(left, b"x" * (MAX_MESSAGE + 10))
        with pytest.raises(HostProtocolError):
            await receive(right)
        left.close()
        assert await receive(right) == (b"", [])
    finally:
        os.close(read_fd)
        os.close(write_fd)
        right.close()


async def test_a_peer_that_is_not_allowed_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hostlink, "CONNECT_WAIT", 0.2)
    # Our own uid is not in the list, and the socket's group is checked against the peer's
    # gid: make the socket's group one we are not in (root may chown; else skip the chown).
    spawner = HostSpawner(tmp_path / "b.sock", uids=(os.getuid() + 1,))
    await spawner.start()
    try:
        assert stat.S_IMODE(os.stat(spawner.path).st_mode) == 0o660
        try:
            os.chown(spawner.path, -1, os.getgid() + 12345)
        except PermissionError:
            pytest.skip("cannot give the socket another group here")
        client = seqpacket()
        with client:
            await asyncio.get_running_loop().sock_connect(client, str(spawner.path))
            assert await receive(client) == (b"", [])  # closed by the daemon's end
        assert not spawner.connected.is_set()
        with pytest.raises(HostLinkError):
            await spawner.spawn(BrowserLaunch(runtime_dir=tmp_path / "r"))
    finally:
        await spawner.stop()
    assert not spawner.path.exists()


# --- the host program ---------------------------------------------------------------------


async def start_host(
    tmp_path: Path, socket_path: Path, *extra: str
) -> Tuple[asyncio.subprocess.Process, Path]:
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700, exist_ok=True)
    # TMPDIR stays the system's: Chromium's socket paths under it must stay short.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "XDG_RUNTIME_DIR": str(runtime),
    }
    args: List[str] = ["--socket", str(socket_path), "--browser", CHROMIUM or "chromium"]
    for arg in extra:
        args.append(f"--test-arg={arg}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "govkiosk.cli.browserhost",
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return process, runtime / "govkiosk-browser"


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


async def test_the_host_refuses_garbage_and_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "d.sock"
    server = seqpacket()
    server.bind(str(path))
    server.listen(1)
    host, _profiles = await start_host(tmp_path, path)
    try:
        conn, _ = await asyncio.wait_for(asyncio.get_running_loop().sock_accept(server), 30)
        conn.setblocking(False)
        with conn:
            for bad in (
                b"\x00garbage",
                encode({"op": "start", "x": 0, "y": 0, "width": 9, "height": 9, "argv": ["id"]}),
                encode({"op": "exec", "command": "/bin/sh"}),
            ):
                await send(conn, bad)
                data, fds = await asyncio.wait_for(receive(conn), 30)
                assert fds == []
                assert json.loads(data)["event"] == "refused"
            assert host.returncode is None  # still there, still waiting
    finally:
        server.close()
        await stop_process(host)
    assert host.returncode == 0


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[HttpsSite]:
    site = await HttpsSite(tmp_path / "site").start()
    site.pages["dept.test/"] = HOME
    yield site
    await site.close()


@pytest.fixture
async def spawner(tmp_path: Path) -> AsyncIterator[HostSpawner]:
    spawner = HostSpawner(tmp_path / "browser.sock", uids=(os.getuid(),), start_timeout=60)
    await spawner.start()
    yield spawner
    await spawner.stop()


def launch_for(site: HttpsSite, tmp_path: Path) -> BrowserLaunch:
    # The daemon's own launch: its command and switches never reach the host.
    return BrowserLaunch(
        runtime_dir=tmp_path / "daemon-run",
        command=("/bin/false",),
        window=Window(0, 80, 1280, 720),
        extra_args=("--this-never-reaches-the-host",),
        start_timeout=60.0,
    )


async def host_browser(
    site: HttpsSite, spawner: HostSpawner, tmp_path: Path
) -> Tuple[asyncio.subprocess.Process, Path, KioskBrowser]:
    host, profiles = await start_host(tmp_path, spawner.path, *browser_args(site.credential))
    await asyncio.wait_for(spawner.connected.wait(), 30)
    browser = KioskBrowser(
        launch_for(site, tmp_path),
        site.url("/") + "#govkiosk-bridge=1.t0ken",
        [site.origin()],
        spawner=spawner,
    )
    await browser.start()
    await asyncio.wait_for(browser.first_paint.wait(), 30)
    return host, profiles, browser


def browser_temp(browser: KioskBrowser) -> Path:
    """The browser's TMPDIR, read from its environment (the host made it)."""
    assert browser.pid is not None
    environ = Path(f"/proc/{browser.pid}/environ").read_bytes().split(b"\0")
    (temp,) = [v[len(b"TMPDIR=") :] for v in environ if v.startswith(b"TMPDIR=")]
    return Path(temp.decode())


def chromium_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of the host's (not reaped yet) counts as gone.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat_file:
        return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"


def owned_by_test(pid: int, tmp_path: Path) -> bool:
    try:
        return str(tmp_path) in Path(f"/proc/{pid}/environ").read_text("utf-8", "replace")
    except OSError:
        return False


@needs_chromium
@pytest.mark.timeout(150)
async def test_a_page_loads_through_the_passed_pipe_and_close_wipes(
    site: HttpsSite, spawner: HostSpawner, tmp_path: Path
) -> None:
    host, profiles, browser = await host_browser(site, spawner, tmp_path)
    try:
        assert browser.profile is None  # the host's, not ours
        assert not (tmp_path / "daemon-run").exists()
        assert stat.S_IMODE(profiles.stat().st_mode) == 0o700
        (profile,) = list(profiles.iterdir())
        assert stat.S_IMODE(profile.stat().st_mode) == 0o700
        assert await browser.evaluate("document.title") == "home"
        assert await browser.evaluate("location.hash") == "#govkiosk-bridge=1.t0ken"
        assert await browser.evaluate("window.innerWidth") > 0
        temp = browser_temp(browser)
        assert temp.name.startswith("gkb-")
        assert temp.is_dir()
        await browser.close()
        assert browser.exited.is_set()
        await eventually(lambda: list(profiles.iterdir()) == [], "profile wiped", 20)
        assert not temp.exists()
        # The host waits for the next session.
        assert host.returncode is None
        assert spawner.connected.is_set()
    finally:
        await browser.close()
        await stop_process(host)


@needs_chromium
@pytest.mark.timeout(150)
async def test_host_stopped_ends_the_browser_and_the_session_sees_it(
    site: HttpsSite, spawner: HostSpawner, tmp_path: Path
) -> None:
    host, profiles, browser = await host_browser(site, spawner, tmp_path)
    try:
        assert await browser.evaluate("document.title") == "home"
        (profile,) = list(profiles.iterdir())
        temp = browser_temp(browser)
        chromium = [p for p in _pids() if owned_by_test(p, tmp_path) and p != host.pid]
        assert browser.pid in chromium
        host.send_signal(signal.SIGTERM)  # the user unit stopped
        await asyncio.wait_for(browser.exited.wait(), 30)
        assert browser.returncode is None  # the host gone: the crash path
        await asyncio.wait_for(host.wait(), 30)
        assert not profile.exists()
        assert not temp.exists()
        assert not any(chromium_alive(p) for p in chromium)
        assert not spawner.connected.is_set()
    finally:
        await browser.close()
        await stop_process(host)


@needs_chromium
@pytest.mark.timeout(150)
async def test_daemon_gone_kills_the_browser_and_the_host_comes_back(
    site: HttpsSite, spawner: HostSpawner, tmp_path: Path
) -> None:
    host, profiles, browser = await host_browser(site, spawner, tmp_path)
    try:
        (profile,) = list(profiles.iterdir())
        chromium = [p for p in _pids() if owned_by_test(p, tmp_path) and p != host.pid]
        await spawner.stop()  # the daemon stopped: its end of the link closes
        await asyncio.wait_for(browser.exited.wait(), 30)
        await eventually(lambda: not profile.exists(), "profile wiped", 20)
        await eventually(lambda: not any(chromium_alive(p) for p in chromium), "browser killed", 20)
        await spawner.start()  # the daemon is back: the host connects again
        await asyncio.wait_for(spawner.connected.wait(), 90)
        assert host.returncode is None
    finally:
        await browser.close()
        await stop_process(host)


@needs_chromium
@pytest.mark.timeout(150)
async def test_one_browser_at_a_time(site: HttpsSite, spawner: HostSpawner, tmp_path: Path) -> None:
    host, _profiles, browser = await host_browser(site, spawner, tmp_path)
    try:
        second = KioskBrowser(
            launch_for(site, tmp_path), site.url("/"), [site.origin()], spawner=spawner
        )
        with pytest.raises(BrowserError):
            await second.start()
        assert await browser.evaluate("document.title") == "home"
    finally:
        await browser.close()
        await stop_process(host)


def _pids() -> List[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


async def test_the_socket_gets_the_configured_group(tmp_path: Path) -> None:
    ours = grp.getgrgid(os.getgid()).gr_name
    spawner = HostSpawner(tmp_path / "g.sock", group=ours)
    await spawner.start()
    try:
        assert os.stat(spawner.path).st_gid == os.getgid()
    finally:
        await spawner.stop()
    missing = HostSpawner(tmp_path / "m.sock", group="no-such-group-here")
    with pytest.raises(HostLinkError):
        await missing.start()
    assert not missing.path.exists()


@needs_chromium
@pytest.mark.timeout(150)
async def test_the_session_browser_ends_when_the_host_goes(
    site: HttpsSite, spawner: HostSpawner, tmp_path: Path
) -> None:
    host, profiles = await start_host(tmp_path, spawner.path, *browser_args(site.credential))
    await asyncio.wait_for(spawner.connected.wait(), 30)
    build = launcher(tmp_path / "daemon-run", spawner=spawner)
    session_browser = build(WebAppsSettings(browser="/bin/false"))
    try:
        await session_browser.open(site.url("/"), Origins((site.origin(),)))
        browser = session_browser.browser
        assert browser is not None
        await asyncio.wait_for(browser.first_paint.wait(), 30)
        waiting = asyncio.ensure_future(session_browser.wait())
        await asyncio.sleep(0)
        assert not waiting.done()
        host.send_signal(signal.SIGTERM)
        await asyncio.wait_for(waiting, 30)  # the session's watcher: browser exited (W03)
        assert browser.returncode is None
        await asyncio.wait_for(host.wait(), 30)
        assert list(profiles.iterdir()) == []
    finally:
        await session_browser.close()
        await stop_process(host)


@needs_chromium
@pytest.mark.timeout(150)
async def test_host_killed_outright_the_browser_goes_and_the_next_host_wipes(
    site: HttpsSite, spawner: HostSpawner, tmp_path: Path
) -> None:
    host, profiles, browser = await host_browser(site, spawner, tmp_path)
    second = None
    try:
        (profile,) = list(profiles.iterdir())
        chromium = [p for p in _pids() if owned_by_test(p, tmp_path) and p != host.pid]
        host.kill()  # SIGKILL: no wipe; the daemon closes its pipe ends, Chromium exits
        await host.wait()
        await asyncio.wait_for(browser.exited.wait(), 30)
        await eventually(lambda: not any(chromium_alive(p) for p in chromium), "browser gone", 30)
        assert profile.exists()  # left until the host starts again
        second, _ = await start_host(tmp_path, spawner.path)
        await asyncio.wait_for(spawner.connected.wait(), 30)
        assert not profile.exists()
    finally:
        await browser.close()
        if second is not None:
            await stop_process(second)


IMPOSTOR = """
import socket, sys
server = socket.socket(fileno=int(sys.argv[1]))
server.listen(1)  # SO_PEERCRED shows whoever called listen()
print("listening", flush=True)
conn, _ = server.accept()
conn.settimeout(30)
print("closed" if conn.recv(100) == b"" else "talked", flush=True)
"""


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
async def test_the_host_refuses_a_listener_that_is_not_the_directory_owner(
    tmp_path: Path,
) -> None:
    path = tmp_path / "browser.sock"  # in root's directory
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.bind(str(path))
    impostor = await asyncio.create_subprocess_exec(
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        sys.executable,
        "-c",
        IMPOSTOR,
        str(server.fileno()),
        stdout=asyncio.subprocess.PIPE,
        pass_fds=(server.fileno(),),
    )
    server.close()
    host = None
    try:
        assert impostor.stdout is not None
        assert await asyncio.wait_for(impostor.stdout.readline(), 30) == b"listening\n"
        host, _ = await start_host(tmp_path, path)
        # The host connects, sees uid 65534 listening where root owns the directory, leaves.
        assert await asyncio.wait_for(impostor.stdout.readline(), 30) == b"closed\n"
    finally:
        if host is not None:
            await stop_process(host)
        if impostor.returncode is None:
            impostor.kill()
        await impostor.wait()
