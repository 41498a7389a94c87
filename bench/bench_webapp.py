"""Web item tapped → its first page painted, warm (issue 19's target: ≤ 2 s).

What a tap costs once the session's ``webapp`` step runs: the kiosk browser started
with a fresh profile (``KioskBrowser`` as the daemon launches it: the DevTools pipe, the
session's rules on the page), the demo department's 社保清单打印 page fetched over
HTTPS from loopback, and its first paint (``Page.lifecycleEvent`` firstPaint of that
navigation). "Warm": Chromium's files are in the page cache (one launch first, not
counted). Each session's close (browser gone, profile wiped) is timed too.

Headless (``--headless=new``) unless ``DISPLAY`` is set, then in a window as on a kiosk
(run under ``xvfb-run`` for that). ``--no-sandbox`` only because CI runs as root.
The daemon's own part of a tap (D-Bus call, session, bridge token) is not included:
bench_bridge and bench_daemon measure those.

``--host``: the browser started by ``govkiosk-browser-host`` (a process, as in production)
and its DevTools pipe passed to the daemon's side over the unix socket (webapps/hostlink.py).

``python -m bench webapp [--sessions N] [--host]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import web

from govkiosk.backends import demo_webapp
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.webapps.browser import BrowserLaunch, KioskBrowser
from govkiosk.webapps.hostlink import HostSpawner
from harness.browser import CHROMIUM, browser_args

TARGET_S = 2.0


def _q(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


async def _serve(directory: Path) -> Any:
    authority = CertificateAuthority("bench web CA")
    credential = authority.issue_server(("127.0.0.1", "dept.test"))
    cert, key = credential.write(directory, "site")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    app = web.Application()
    demo_webapp.routes(app, lambda: None, lambda: None)  # the page only: no statement asked
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    port = int(runner.addresses[0][1])
    return runner, credential, port


async def _host(directory: Path, args: List[str]) -> Any:
    """A browser host process and the daemon's end it connected to."""
    spawner = HostSpawner(directory / "browser.sock", uids=(os.getuid(),), start_timeout=60)
    await spawner.start()
    (directory / "xdg").mkdir(mode=0o700)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env["XDG_RUNTIME_DIR"] = str(directory / "xdg")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "govkiosk.cli.browserhost",
        f"--socket={spawner.path}",
        f"--browser={CHROMIUM}",
        *(f"--test-arg={a}" for a in args),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.wait_for(spawner.connected.wait(), 30)
    return spawner, process


async def _sessions(count: int, directory: Path, via_host: bool = False) -> Dict[str, Any]:
    runner, credential, port = await _serve(directory)
    headless = not os.environ.get("DISPLAY")
    spawner: Optional[HostSpawner] = None
    host: Optional[asyncio.subprocess.Process] = None
    if via_host:
        spawner, host = await _host(directory, list(browser_args(credential, headless=headless)))
    launch = BrowserLaunch(
        runtime_dir=directory / "profiles",
        command=(CHROMIUM or "chromium",),
        extra_args=browser_args(credential, headless=headless),
        start_timeout=60.0,
    )
    origin = f"https://dept.test:{port}"
    url = origin + demo_webapp.PAGE_PATH + "#govkiosk-bridge=1.benchtoken"
    painted: List[float] = []
    started: List[float] = []
    closed: List[float] = []
    try:
        for index in range(count + 1):
            browser = KioskBrowser(launch, url, [origin], spawner=spawner)
            begin = time.perf_counter()
            await browser.start()
            ready = time.perf_counter()
            await asyncio.wait_for(browser.first_paint.wait(), 60)
            paint = time.perf_counter()
            await browser.close()
            end = time.perf_counter()
            if index == 0:
                continue  # the warm-up launch
            started.append(ready - begin)
            painted.append(paint - begin)
            closed.append(end - paint)
    finally:
        if host is not None:
            host.terminate()
            await host.wait()
        if spawner is not None:
            await spawner.stop()
        await runner.cleanup()
    return {
        "sessions": count,
        "mode": "headless" if headless else "window",
        "started_by": "govkiosk-browser-host" if via_host else "the daemon",
        "tap_to_first_paint_s": {
            "p50": _q(painted, 0.5),
            "p99": _q(painted, 0.99),
            "mean": round(statistics.mean(painted), 3),
        },
        "browser_start_s": {"p50": _q(started, 0.5), "p99": _q(started, 0.99)},
        "close_and_wipe_s": {"p50": _q(closed, 0.5), "p99": _q(closed, 0.99)},
        "target_s": TARGET_S,
        "met": _q(painted, 0.99) <= TARGET_S,
    }


def run(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench webapp")
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--host", action="store_true", help="through govkiosk-browser-host")
    args = parser.parse_args(argv or [])
    if CHROMIUM is None:
        return {"skipped": "chromium is not installed"}
    with tempfile.TemporaryDirectory(prefix="bench-webapp-") as scratch:
        return asyncio.run(_sessions(args.sessions, Path(scratch), args.host))
