"""The kiosk browser in a real headless Chromium: profile, navigation, popups, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any, AsyncIterator, List, Tuple

import pytest

from govkiosk.webapps.browser import (
    PROFILE_PREFIX,
    BrowserLaunch,
    KioskBrowser,
    allowed,
    managed_policy,
    origin_of,
    wipe_stale_profiles,
)
from govkiosk.webapps.errors import BrowserError
from harness.browser import HttpsSite, needs_chromium
from harness.eventually import eventually
from webapp_items import ORIGIN, webapp_toml

pytestmark = [needs_chromium, pytest.mark.timeout(120)]

HOME = """<!doctype html><meta charset="utf-8"><title>home</title>
<h1>社保清单打印</h1>
<a id="out" href="{evil}/">away</a>
<a id="pop" href="{dept}/" target="_blank">new window</a>
<script>window.token = location.hash;</script>"""
FRAMED = """<!doctype html><title>framed</title>
<iframe id="f" src="{evil}/frame"></iframe>"""
FRAME = "<!doctype html><title>frame</title><p>evil frame</p>"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[HttpsSite]:
    site = await HttpsSite(tmp_path / "site").start()
    site.pages["dept.test/"] = HOME.format(evil=site.origin("evil.test"), dept=site.origin())
    site.pages["dept.test/framed"] = FRAMED.format(evil=site.origin("evil.test"))
    site.pages["/frame"] = FRAME
    site.pages["evil.test/"] = "<!doctype html><title>evil</title>"
    yield site
    await site.close()


async def started(site: HttpsSite, runtime: Path, path: str = "/", **kw: object) -> KioskBrowser:
    browser = KioskBrowser(
        site.launch(runtime), site.url(path) + "#govkiosk-bridge=1.t0ken", [site.origin()], **kw
    )
    await browser.start()
    await asyncio.wait_for(browser.first_paint.wait(), 30)
    return browser


async def test_profile_is_private_and_gone_after_close(site: HttpsSite, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    browser = await started(site, runtime)
    profile = browser.profile
    assert profile is not None
    assert profile.parent == runtime
    assert profile.name.startswith(PROFILE_PREFIX)
    assert stat.S_IMODE(profile.stat().st_mode) == 0o700
    assert await browser.evaluate("document.title") == "home"
    assert await browser.evaluate("window.token") == "#govkiosk-bridge=1.t0ken"
    await browser.close()
    assert browser.exited.is_set()
    assert not profile.exists()
    assert list(runtime.iterdir()) == []


async def test_navigation_to_another_origin_is_refused(site: HttpsSite, tmp_path: Path) -> None:
    refused: List[str] = []
    browser = await started(site, tmp_path / "run", on_blocked=refused.append)
    try:
        await browser.evaluate("document.getElementById('out').click()", user_gesture=True)
        await eventually(lambda: browser.blocked == 1, "the navigation refused", 20)
        assert refused == [site.origin("evil.test")]
        assert site.hits.get("evil.test/", 0) == 0
        # The page stays where it was, with its own state.
        assert await browser.evaluate("location.origin") == site.origin()
        assert await browser.evaluate("window.token") == "#govkiosk-bridge=1.t0ken"
    finally:
        await browser.close()


async def test_frame_from_another_origin_is_refused(site: HttpsSite, tmp_path: Path) -> None:
    browser = await started(site, tmp_path / "run", path="/framed")
    try:
        await eventually(lambda: browser.blocked == 1, "the frame refused", 20)
        assert site.hits.get("evil.test/frame", 0) == 0
    finally:
        await browser.close()


async def test_new_windows_are_closed(site: HttpsSite, tmp_path: Path) -> None:
    browser = await started(site, tmp_path / "run")
    try:
        await browser.evaluate("document.getElementById('pop').click()", user_gesture=True)
        await eventually(lambda: browser.popups_closed >= 1, "the popup closed", 20)
        targets = await browser.devtools.send("Target.getTargets")

        async def pages() -> int:
            found = await browser.devtools.send("Target.getTargets")
            return sum(1 for t in found["targetInfos"] if t["type"] == "page")

        assert any(t["type"] == "page" for t in targets["targetInfos"])
        for _ in range(200):
            if await pages() == 1:
                break
        assert await pages() == 1
        assert not browser.exited.is_set()
    finally:
        await browser.close()


async def test_print_is_a_no_op_and_dialogs_do_not_hang(site: HttpsSite, tmp_path: Path) -> None:
    browser = await started(site, tmp_path / "run")
    try:
        assert await browser.evaluate("window.print(); 'printed nothing'") == "printed nothing"
        assert await browser.evaluate("delete window.print; typeof window.print") == "function"
        assert await browser.evaluate("confirm('leave?')") is False
        assert await browser.evaluate("alert('hi'); 'after'") == "after"
    finally:
        await browser.close()


async def test_a_killed_browser_ends_cleanly(site: HttpsSite, tmp_path: Path) -> None:
    browser = await started(site, tmp_path / "run")
    profile = browser.profile
    assert profile is not None
    assert browser.pid is not None
    os.kill(browser.pid, signal.SIGKILL)
    await asyncio.wait_for(browser.exited.wait(), 30)
    assert browser.returncode == -signal.SIGKILL
    assert not profile.exists()
    await browser.close()  # closing what is already gone is fine


async def test_a_crashed_page_closes_the_browser(site: HttpsSite, tmp_path: Path) -> None:
    browser = await started(site, tmp_path / "run")
    profile = browser.profile
    browser.devtools.post("Page.crash", session_id=browser.main_session)
    await asyncio.wait_for(browser.exited.wait(), 30)
    assert browser.crashed
    assert profile is not None
    assert not profile.exists()


async def test_a_browser_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    launch = BrowserLaunch(runtime_dir=tmp_path / "run", command=("/nonexistent/chromium",))
    browser = KioskBrowser(launch, "https://dept.test/", ["https://dept.test"])
    with pytest.raises(BrowserError):
        await browser.start()
    assert browser.exited.is_set()
    assert list((tmp_path / "run").iterdir()) == []


def test_an_address_outside_the_origins_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrowserError):
        KioskBrowser(
            BrowserLaunch(runtime_dir=tmp_path), "https://evil.test/", ["https://dept.test"]
        )


def test_origins() -> None:
    assert origin_of("https://Dept.Test:443/a?b#c") == "https://dept.test"
    assert origin_of("https://dept.test:8443/") == "https://dept.test:8443"
    assert origin_of("javascript:alert(1)") == ""
    assert origin_of("https://[::1]:9/") == "https://[::1]:9"
    assert origin_of("https://dept.test:99999/") == ""
    origins = {"https://dept.test"}
    assert allowed("https://dept.test/x", origins)
    assert allowed("about:blank", origins)
    assert not allowed("https://dept.test.evil.test/", origins)
    assert not allowed("http://dept.test/", origins)
    assert not allowed("data:text/html,hi", origins)
    assert not allowed("file:///etc/passwd", origins)


def test_managed_policy_allows_only_the_items_origins() -> None:
    policy = managed_policy(["https://b.gov.cn/app", "https://a.gov.cn", "not a url"])
    assert policy["URLBlocklist"] == ["*"]
    assert policy["URLAllowlist"] == ["https://a.gov.cn", "https://b.gov.cn", "about:blank"]
    assert policy["PrintingEnabled"] is False
    assert policy["AllowFileSelectionDialogs"] is False
    assert policy["DeveloperToolsAvailability"] == 2
    assert policy["DownloadRestrictions"] == 3


def test_stale_profiles_are_wiped(tmp_path: Path) -> None:
    (tmp_path / f"{PROFILE_PREFIX}abc" / "data").mkdir(parents=True)
    (tmp_path / f"{PROFILE_PREFIX}abc" / "data" / "Cookies").write_bytes(b"x")
    (tmp_path / "other").mkdir()
    assert wipe_stale_profiles(tmp_path, tmp_path / "no-temp") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]
    assert wipe_stale_profiles(tmp_path / "absent", tmp_path / "absent") == 0


async def test_the_policy_command_allows_every_web_items_origins(tmp_path: Path) -> None:

    catalogue = tmp_path / "items.toml"
    catalogue.write_text(webapp_toml(), encoding="utf-8")
    out = tmp_path / "govkiosk.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "govkiosk.cli.main",
        "webapp",
        "policy",
        str(catalogue),
        "--origin",
        "https://extra.gov.cn",
        "--output",
        str(out),
        env=env,
    )
    assert await asyncio.wait_for(process.wait(), 60) == 0
    policy = json.loads(out.read_text(encoding="utf-8"))
    assert policy["URLAllowlist"] == [*sorted([ORIGIN, "https://extra.gov.cn"]), "about:blank"]
    assert policy["URLBlocklist"] == ["*"]
    bad = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "govkiosk.cli.main",
        "webapp",
        "policy",
        str(tmp_path / "none.toml"),
        env=env,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(bad.wait(), 60) == 2


async def test_the_window_sits_below_the_strip_and_hides(
    site: HttpsSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a window on an X display, as on a kiosk: where the launch put it, out of sight
    while the kiosk's own screen shows, back after. A private X server: a window another
    test left on the shared display (the UI tests' Kivy window, whose loop does not run
    here) would not repaint what the browser uncovers."""
    from harness.xscreens import TwoScreens  # noqa: PLC0415 - numpy only here

    screens = TwoScreens(tmp_path / "x")
    monkeypatch.setenv("DISPLAY", screens.screen(0))
    site.pages["dept.test/plain"] = (
        '<!doctype html><title>plain</title><body style="background:#eeeeff; margin:0">'
    )
    browser = KioskBrowser(
        site.launch(tmp_path / "run", headless=False), site.url("/plain"), [site.origin()]
    )

    async def pixel(x: int, y: int) -> Tuple[int, ...]:
        picture = await asyncio.get_running_loop().run_in_executor(None, screens.picture, 0)
        return tuple(int(c) for c in picture[y, x][:3])

    await browser.start()
    try:
        await asyncio.wait_for(browser.first_paint.wait(), 30)
        page = (255, 238, 238)  # #eeeeff as BGR
        await eventually_async(lambda: pixel(600, 600), page, "the page on screen")
        assert await pixel(600, 40) != page  # above the window: not the page's
        await browser.hide()
        await eventually_async(lambda: pixel(600, 600), None, "the window hidden", not_=page)
        await browser.show()
        await eventually_async(lambda: pixel(600, 600), page, "the page back")
    finally:
        await browser.close()
        screens.stop()


async def eventually_async(
    read: Any, want: Any, what: str, not_: Any = None, timeout: float = 20.0
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        seen = await read()
        if (want is not None and seen == want) or (not_ is not None and seen != not_):
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what}: {seen} after {timeout:g} s")
        await asyncio.sleep(0.1)
