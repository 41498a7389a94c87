"""The web-app journey in a real headless Chromium: the demo department's 社保清单打印 web
app (HTML + JS on the bridge's client) through the whole kiosk — choose the item, the
kiosk's own consent screen, the card, the department's query, the sealed PDF through the
seal verifier and CUPS, the receipt, the end — and the attacks a hostile page tries."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from pathlib import Path
from typing import Any, AsyncIterator, List, Optional, Tuple

import pytest

from govkiosk.backends.demo_webapp import PAGE_PATH
from govkiosk.items.catalogue import DEFAULT_CATALOGUE
from govkiosk.pdfbytes import assemble, stream
from govkiosk.webapps.browser import KioskBrowser, SessionBrowser, launcher
from govkiosk.webapps.errors import BrowserError
from govkiosk.webapps.settings import WebAppsSettings
from harness.browser import HttpsSite, browser_args, needs_chromium
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk
from harness.personal import scan, written_files

pytestmark = [needs_chromium, pytest.mark.timeout(180)]

WAIT = 60.0
CODE = "social_statement_web"


def item_toml(site: HttpsSite, max_pages: int = 5) -> str:
    return f"""
[[items]]
code = "{CODE}"
name = "社保清单打印（网页版）"
department = "人社"
category = "查询打印"
applicant_type = "natural_person"
conditions = ["本人持有效居民身份证"]
materials = ["本人有效居民身份证原件"]
result_type = "certificate_print"
regions = ["230100"]
kind = "webapp"

[items.webapp]
url = "{site.url(PAGE_PATH)}"
origins = ["{site.origin()}"]
fields = ["name", "id_number"]
devices = ["idcard", "print_a4", "print_receipt", "speech"]
time_limit = 300
seal_required = true
max_pages = {max_pages}
"""


class Browsers:
    """The daemon's browser factory, keeping each browser it made for the test to drive."""

    def __init__(self, profiles: Path, site: HttpsSite) -> None:
        self.profiles = profiles
        self._build = launcher(profiles, extra_args=browser_args(site.credential))
        self.made: List[SessionBrowser] = []
        self.urls: List[str] = []

    def __call__(self, settings: WebAppsSettings) -> SessionBrowser:
        browser = self._build(settings)
        self.made.append(browser)
        return browser

    async def current(self) -> KioskBrowser:
        for _ in range(int(WAIT * 20)):
            if self.made and self.made[-1].browser is not None:
                kiosk_browser = self.made[-1].browser
                if kiosk_browser.main_session is not None:
                    return kiosk_browser
            await asyncio.sleep(0.05)
        raise AssertionError("no kiosk browser was started")


async def stage(browser: KioskBrowser, want: str, timeout: float = WAIT) -> None:
    """Wait until the demo page shows ``want`` (``document.body.dataset.stage``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: Any = None
    while loop.time() < deadline:
        try:
            seen = await browser.evaluate("document.body ? document.body.dataset.stage : ''")
        except BrowserError:
            seen = None  # between documents (the page is still loading)
        if seen == want:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the page's stage is {seen!r}, not {want!r}")


@pytest.fixture
async def rig(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> AsyncIterator[Tuple[Kiosk, HttpsSite, Browsers]]:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        site = await HttpsSite(tmp_path / "site", k.department.app()).start()
        browsers = Browsers(tmp_path / "profiles", site)
        k.daemon.webapps.launcher = browsers
        catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + item_toml(site)
        await k.items.call_sync("office", catalogue, "web.toml")
        try:
            yield k, site, browsers
        finally:
            await site.close()


async def open_item(k: Kiosk, browsers: Browsers) -> Tuple[str, KioskBrowser]:
    """Tap the web item (as the UI does): the session's webapp step, the page ready."""
    rows = {r["code"].value: r for r in await k.session.call_list_items()}
    assert rows[CODE]["kind"].value == "webapp"
    sid: str = await k.session.call_start_session(CODE, "zh_CN")
    await k.until(step="webapp", state="waiting")
    browser = await browsers.current()
    await stage(browser, "ready")
    return sid, browser


async def picture(browser: KioskBrowser, tmp_path: Path, name: str) -> None:
    """The page as the kiosk shows it: to ``$GOVKIOSK_SCREENSHOTS/zh_CN/<name>.png`` for
    ``make screenshots``, else to the test's directory."""
    configured = os.environ.get("GOVKIOSK_SCREENSHOTS")
    out = (Path(configured) if configured else tmp_path / "screenshots") / "zh_CN"
    await browser.devtools.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1112, "height": 576, "deviceScaleFactor": 1, "mobile": False},
        session_id=browser.main_session,
    )
    shot = await browser.devtools.send(
        "Page.captureScreenshot", {"format": "png"}, session_id=browser.main_session
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


async def test_the_web_journey_in_a_real_browser(
    rig: Tuple[Kiosk, HttpsSite, Browsers], cupsd: CupsServer, tmp_path: Path
) -> None:
    k, _site, browsers = rig
    since = time.time()
    sid, browser = await open_item(k, browsers)
    await picture(browser, tmp_path, "webapp_page")
    profile = browser.profile
    assert profile is not None
    assert profile.parent == browsers.profiles
    # The client took the token out of the address at once.
    assert "govkiosk-bridge" not in await browser.evaluate("location.href")
    await browser.evaluate("document.getElementById('start').click()", user_gesture=True)
    consent = await k.until(step="webapp_consent", state="waiting")
    assert consent["consent_fields"] == ["name", "id_number"]
    await stage(browser, "consent")  # the page waits on the kiosk's own screen
    await k.session.call_choose(sid, "agree")
    await k.until(step="identity", state="waiting")
    identity = await k.card()
    await stage(browser, "done")
    await picture(browser, tmp_path, "webapp_page_done")
    # The department's sealed statement went through the seal verifier and CUPS.
    printed = cupsd.captured()
    assert len(printed) == 1
    assert printed[0].startswith(b"%PDF")
    assert b"/ByteRange" in printed[0]  # sealed (PAdES) as the department made it
    receipt = k.printer.receipts[-1]
    assert len(receipt.qr_codes) == 1
    assert receipt.qr_codes[0].startswith("SB")
    # The page ends the session (3 s after done): the kiosk goes home, the browser is gone.
    last = await k.ended()
    assert (last["state"], last["ended_by"]) == ("done", "done")
    await asyncio.wait_for(browser.exited.wait(), WAIT)
    assert not profile.exists()
    assert list(browsers.profiles.iterdir()) == []
    terms = {identity.name, identity.id_number, identity.address}
    roots = [k.state_dir, browsers.profiles, Path("/dev/shm")]
    assert scan([*written_files(roots, since, None), k.log], terms) > 0


async def test_home_and_a_browser_crash_end_the_session(
    rig: Tuple[Kiosk, HttpsSite, Browsers],
) -> None:
    k, _site, browsers = rig
    sid, browser = await open_item(k, browsers)
    profile = browser.profile
    # 返回首页 (the UI ends the session): browser closed, profile wiped.
    await k.session.call_end_session(sid, "home")
    await k.ended()
    await asyncio.wait_for(browser.exited.wait(), WAIT)
    assert profile is not None
    assert not profile.exists()
    # The browser crashes: the session ends, the kiosk goes home.
    sid, browser = await open_item(k, browsers)
    assert browser.pid is not None
    os.kill(browser.pid, signal.SIGKILL)
    last = await k.ended()
    assert last["state"] != "done"
    assert list(browsers.profiles.iterdir()) == []


def many_pages(count: int) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + i} 0 R" for i in range(count))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    content = 3 + count
    for _ in range(count):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content} 0 R >>".encode()
        )
    objects.append(stream("", b"0 0 1 rg 100 100 200 200 re f\n"))
    return bytes(assemble(objects))


CALL = """(async () => {{
  try {{ await window.govkiosk.{method}({params}); return "ok"; }}
  catch (e) {{ return e.status + " " + e.code; }}
}})()"""


async def test_a_hostile_page_is_refused(
    rig: Tuple[Kiosk, HttpsSite, Browsers], cupsd: CupsServer, tmp_path: Path
) -> None:
    k, site, browsers = rig
    sid, browser = await open_item(k, browsers)
    # Undeclared fields: refused before any consent screen.
    answer = await browser.evaluate(
        CALL.format(method="idcard.read", params='{fields: ["address"]}')
    )
    assert answer == "403 forbidden"
    assert (await k.state())["step"] == "webapp"
    # 10,000 pages: refused, nothing printed.
    pdf = base64.b64encode(many_pages(10_000)).decode()
    await browser.evaluate(f"window.bigPdf = '{pdf}'; 1")
    answer = await browser.evaluate(CALL.format(method="print.pdf", params="{pdf: window.bigPdf}"))
    assert answer == "413 too_large"
    answer = await browser.evaluate(
        CALL.format(method="print.pdf", params="{pdf: window.bigPdf.slice(0, 8), copies: 10000}")
    )
    assert answer == "400 bad_request"
    assert cupsd.captured() == []
    # Navigating to an origin the item did not allow: refused, the page stays.
    await browser.evaluate(f"location.href = '{site.url('/webapp/social/', 'evil.test')}'; 1")
    for _ in range(int(WAIT * 20)):
        if browser.blocked:
            break
        await asyncio.sleep(0.05)
    assert browser.blocked == 1
    assert await browser.evaluate("location.origin") == site.origin()
    # Another origin calling the bridge, even holding the token: no CORS, refused.
    launch_url = await _launch_url(k)
    fragment = launch_url.partition("#")[2]
    evil = KioskBrowser(
        site.launch(tmp_path / "evil"),
        site.url(PAGE_PATH, "evil.test") + "#" + fragment,
        [site.origin("evil.test")],
    )
    await evil.start()
    try:
        await stage(evil, "no-bridge")
    finally:
        await evil.close()
    assert (await k.state())["step"] == "webapp"
    # After the session ended, the token is dead: a page that kept it gets nothing.
    await k.session.call_end_session(sid, "home")
    await k.ended()
    late = KioskBrowser(
        site.launch(tmp_path / "late"),
        site.url(PAGE_PATH) + "#" + fragment,
        [site.origin()],
    )
    await late.start()
    try:
        await stage(late, "no-bridge")
    finally:
        await late.close()
    audit = [line for line in k.log.read_text(encoding="utf-8").splitlines() if "bridge: " in line]
    refused = [line for line in audit if "OPTIONS - -> 403 forbidden" in line]
    assert len(refused) == 2  # the other origin's preflight, and the ended session's
    last_post = max(i for i, line in enumerate(audit) if " POST " in line)
    assert last_post < audit.index(refused[0])  # neither page got one call through


async def _launch_url(k: Kiosk) -> str:
    url: Optional[str] = k.daemon.webapps.launch_url()
    assert url is not None
    return url
