"""The whole kiosk with its browser in the browser host: ``[webapps] browser_host`` set.

The daemon (in-process, as every kiosk test) listens on a socket under tmp_path; the
browser host runs as a process with the test-only switches; the demo department's web app
is served over HTTPS; the daemon's own launcher drives the browser through the pipe the
host passed. The host stopped mid-session ends the session as a browser crash (W03).
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any, AsyncIterator, List, Tuple

import pytest

from govkiosk.items.catalogue import DEFAULT_CATALOGUE
from govkiosk.webapps.browser import KioskBrowser, SessionBrowser
from govkiosk.webapps.errors import BrowserError
from govkiosk.webapps.session import BrowserFactory
from govkiosk.webapps.settings import WebAppsSettings
from harness.browser import CHROMIUM, HttpsSite, browser_args, needs_chromium
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk
from test_webapps_journey import CODE, item_toml

pytestmark = [needs_chromium, pytest.mark.timeout(180)]

WAIT = 60.0


class Recorded:
    """The daemon's own browser factory (the host's spawner inside), each browser kept."""

    def __init__(self, build: BrowserFactory) -> None:
        self._build = build
        self.made: List[SessionBrowser] = []

    def __call__(self, settings: WebAppsSettings) -> SessionBrowser:
        browser = self._build(settings)
        assert isinstance(browser, SessionBrowser)
        self.made.append(browser)
        return browser

    async def current(self) -> KioskBrowser:
        for _ in range(int(WAIT / 0.05)):
            if self.made and self.made[-1].browser is not None:
                found = self.made[-1].browser
                if found.main_session is not None:
                    return found
            await asyncio.sleep(0.05)
        raise AssertionError("no kiosk browser was started")


async def stage(browser: KioskBrowser, want: str) -> None:
    seen: Any = None
    for _ in range(int(WAIT / 0.05)):
        try:
            seen = await browser.evaluate("document.body ? document.body.dataset.stage : ''")
        except BrowserError:
            seen = None
        if seen == want:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the page's stage is {seen!r}, not {want!r}")


@pytest.fixture
async def rig(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> AsyncIterator[Tuple[Kiosk, Recorded, asyncio.subprocess.Process, Path]]:
    sock = tmp_path / "browser.sock"
    lines = (
        f'\n[webapps]\nbrowser = "/bin/false"\nbrowser_host = "{sock}"\n'
        f'browser_host_uids = [{os.getuid()}]\nbrowser_host_group = ""\n'
    )
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd, routes=lines) as k:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o660
        site = await HttpsSite(tmp_path / "site", k.department.app()).start()
        runtime = tmp_path / "xdg"
        runtime.mkdir(mode=0o700)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "XDG_RUNTIME_DIR": str(runtime),
        }
        host = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "govkiosk.cli.browserhost",
            f"--socket={sock}",
            f"--browser={CHROMIUM}",
            *(f"--test-arg={arg}" for arg in browser_args(site.credential)),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        browsers = Recorded(k.daemon.webapps.launcher)  # type: ignore[arg-type]
        k.daemon.webapps.launcher = browsers
        catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + item_toml(site)
        await k.items.call_sync("office", catalogue, "web.toml")
        try:
            yield k, browsers, host, runtime / "govkiosk-browser"
        finally:
            if host.returncode is None:
                host.send_signal(signal.SIGTERM)
                await asyncio.wait_for(host.wait(), WAIT)
            await site.close()


async def test_a_web_session_through_the_host_and_the_host_gone(
    rig: Tuple[Kiosk, Recorded, asyncio.subprocess.Process, Path],
) -> None:
    k, browsers, host, profiles = rig
    sid: str = await k.session.call_start_session(CODE, "zh_CN")
    await k.until(step="webapp", state="waiting")
    browser = await browsers.current()
    await stage(browser, "ready")
    assert browser.profile is None  # the host's
    (profile,) = list(profiles.iterdir())
    # 返回首页: the browser closed over DevTools, the host wipes its profile.
    await k.session.call_end_session(sid, "home")
    await k.ended()
    await asyncio.wait_for(browser.exited.wait(), WAIT)
    for _ in range(int(WAIT / 0.05)):
        if not profile.exists():
            break
        await asyncio.sleep(0.05)
    assert not profile.exists()
    # The host stops mid-session: the session ends as for a crashed browser.
    await k.session.call_start_session(CODE, "zh_CN")
    await k.until(step="webapp", state="waiting")
    browser = await browsers.current()
    await stage(browser, "ready")
    host.send_signal(signal.SIGTERM)
    last = await k.ended()
    assert last["state"] != "done"
    await asyncio.wait_for(browser.exited.wait(), WAIT)
    assert browser.returncode is None
    await asyncio.wait_for(host.wait(), WAIT)
    assert list(profiles.iterdir()) == []
