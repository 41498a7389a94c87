"""Web-app sessions through the whole kiosk (harness.kiosk): the session's ``webapp`` step,
the native consent screen, the card, A4 through the seal verifier and CUPS, the receipt,
and every way a session ends — each revoking the token and closing the browser."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import cups
import pytest

from govkiosk.devices.presence.events import PersonLeft
from govkiosk.devices.qrscanner.events import CodeScanned
from govkiosk.items.catalogue import DEFAULT_CATALOGUE, WebApp
from govkiosk.pdfbytes import assemble, stream
from govkiosk.session.state import SessionEnded
from govkiosk.webapps.session import FRAGMENT, count_pages
from govkiosk.webapps.settings import WebAppsSettings
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kiosk import Kiosk, kiosk
from harness.personal import scan, written_files
from webapp_items import ORIGIN, webapp_toml

WAIT = 20.0


@dataclass
class FakeBrowser:
    """Stands in for the kiosk browser: records the launch URL; ``crash()`` exits it."""

    urls: List[str] = field(default_factory=list)
    closed: int = 0
    shown: List[bool] = field(default_factory=list)  #: hide() False, show() True
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    async def open(self, url: str, app: WebApp) -> None:
        assert app.origins == (ORIGIN,)
        self.urls.append(url)

    async def wait(self) -> None:
        await self.gone.wait()

    async def close(self) -> None:
        self.closed += 1

    async def hide(self) -> None:
        self.shown.append(False)

    async def show(self) -> None:
        self.shown.append(True)

    def crash(self) -> None:
        self.gone.set()


@dataclass
class Page:
    """The web app's page: calls the bridge with the token from its launch URL."""

    http: aiohttp.ClientSession
    port: int
    token: str

    async def call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Origin": ORIGIN,
            "Content-Type": "application/json",
        }
        url = f"http://127.0.0.1:{self.port}/v1/{method}"
        async with self.http.post(url, data=json.dumps(params or {}), headers=headers) as response:
            return response.status, await response.json()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def start(
    k: Kiosk, http: aiohttp.ClientSession, browser: FakeBrowser, extra: str = ""
) -> Tuple[str, Page]:
    catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + webapp_toml(extra=extra)
    await k.items.call_sync("office", catalogue, "web.toml")
    k.daemon.webapps.launcher = lambda _settings: browser
    rows = {r["code"].value: r for r in await k.session.call_list_items()}
    assert rows["web_test"]["kind"].value == "webapp"
    assert rows["web_test"]["available"].value is True
    assert rows["web_test"]["webapp_url"].value == f"{ORIGIN}/sbqd/index.html"
    assert rows["web_test"]["webapp_origins"].value == [ORIGIN]
    assert rows["web_test"]["steps"].value == []
    sid: str = await k.session.call_start_session("web_test", "zh_CN")
    state = await k.until(step="webapp", state="waiting")
    assert state["choices"] == ["cancel"]
    assert 290 < state["seconds_left"] <= 300
    url = browser.urls[-1]
    page_url, _, fragment = url.partition("#")
    assert page_url == f"{ORIGIN}/sbqd/index.html"
    key, _, value = fragment.partition("=")
    port, _, token = value.partition(".")
    assert key == FRAGMENT
    return sid, Page(http, int(port), token)


async def sealed_pdf(k: Kiosk) -> bytes:
    """A one-page PDF sealed by the demo department's authority (as its documents are)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        stream("", b"0 0 1 rg 100 100 200 200 re f\n"),
    ]
    unsealed = bytes(assemble(objects))
    seal = k.department.authority.seal  # pyHanko's signer runs its own event loop: a thread
    sealed: bytes = await asyncio.get_running_loop().run_in_executor(
        None, seal, unsealed, "hrss", "社保参保证明"
    )
    return sealed


async def test_the_web_journey_consent_card_print_receipt_end(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    since = time.time()
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        sid, page = await start(k, http, browser)
        status, info = await page.call("session.info")
        assert (status, info["item"], info["fields"]) == (200, "web_test", ["name", "id_number"])
        # The card: the kiosk's own consent screen first, naming the fields asked.
        reading = asyncio.ensure_future(page.call("idcard.read", {"fields": ["name"]}))
        consent = await k.until(step="webapp_consent", state="waiting")
        assert consent["consent_fields"] == ["name"]
        assert consent["choices"] == ["agree", "disagree"]
        await k.session.call_choose(sid, "agree")
        await k.until(step="identity", state="waiting")
        identity = await k.card()
        status, body = await asyncio.wait_for(reading, WAIT)
        assert (status, body) == (200, {"fields": {"name": identity.name}})
        await k.until(step="webapp", state="waiting")
        assert browser.shown == [False, True]  # hidden under the consent and card screens
        # A second read: consent again, the card already read is used.
        again = asyncio.ensure_future(page.call("idcard.read"))
        await k.until(step="webapp_consent")
        await k.session.call_choose(sid, "agree")
        status, body = await asyncio.wait_for(again, WAIT)
        assert body["fields"] == {"name": identity.name, "id_number": identity.id_number}
        # A4 through the seal verifier and CUPS, as native items print.
        pdf = await sealed_pdf(k)
        status, body = await page.call("print.pdf", {"pdf": base64.b64encode(pdf).decode()})
        assert (status, body["pages"]) == (200, 1)
        assert cupsd.captured() == [pdf]
        # An unsealed PDF is refused and never printed.
        unsealed = pdf[: pdf.index(b"%%EOF") + 5]
        status, body = await page.call("print.pdf", {"pdf": base64.b64encode(unsealed).decode()})
        assert (status, body["error"]["code"]) == (502, "device_failed")
        assert body["error"]["message"].startswith("seal.")
        assert len(cupsd.captured()) == 1
        # Receipt.
        lines = [{"text": "社保参保证明"}, {"qr": "https://zwfw.example.gov.cn/v?r=1"}]
        status, body = await page.call("print.receipt", {"lines": lines})
        assert status == 200
        assert k.printer.receipts[-1].qr_codes == ["https://zwfw.example.gov.cn/v?r=1"]
        assert (await page.call("speech.say", {"text": "请取走打印件"}))[0] == 200
        assert (await k.state())["prompt"] == "请取走打印件"
        # The page ends the session: done, wiped, token revoked, browser closed.
        assert (await page.call("session.end"))[0] == 200
        last = await k.ended()
        assert (last["state"], last["ended_by"], last["holder"]) == ("done", "done", "")
        assert browser.closed == 1
        status, body = await page.call("session.info")
        assert (status, body["error"]["code"]) == (410, "session_ended")
        ended = [e for e in k.events if isinstance(e, SessionEnded)][-1]
        assert (ended.item_code, ended.outcome) == ("web_test", "done")
        log = k.log.read_text(encoding="utf-8")
        assert "bridge: web_test POST idcard.read -> 200 ok" in log
        state_dir, log_file = k.state_dir, k.log
    # The demo department's seal files carry pictures (its seals'): not the citizen's.
    terms = {identity.name, identity.id_number, identity.address, page.token}
    assert scan([*written_files([state_dir], since, None), log_file], terms) > 0


@pytest.mark.parametrize("how", ["home", "cancel", "browser_crash", "declined"])
async def test_every_end_revokes_the_token_and_closes_the_browser(
    tmp_path: Path,
    private_bus: PrivateBus,
    cupsd: CupsServer,
    http: aiohttp.ClientSession,
    how: str,
) -> None:
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        sid, page = await start(k, http, browser)
        if how == "declined":
            reading = asyncio.ensure_future(page.call("idcard.read"))
            await k.until(step="webapp_consent")
            await k.session.call_choose(sid, "disagree")
            status, body = await asyncio.wait_for(reading, WAIT)
            assert (status, body["error"]["code"]) == (403, "declined")
            await k.until(step="webapp", state="waiting")  # the page has the screen again
            assert (await page.call("session.info"))[0] == 200
            await k.session.call_end_session(sid, "home")
        elif how == "home":
            await k.session.call_end_session(sid, "home")
        elif how == "cancel":
            await k.session.call_choose(sid, "cancel")
        else:
            browser.crash()
        last = await k.ended()
        assert last["state"] == "cancelled"
        crashed = "webapp.browser_exited" if how == "browser_crash" else ""
        ended_by = "home" if how in ("home", "declined") else "cancelled"
        assert (last["ended_by"], last["error_code"]) == (ended_by, crashed)
        assert [e.error_code for e in k.events if isinstance(e, SessionEnded)] == [crashed]
        assert browser.closed == 1
        status, body = await page.call("idcard.read")
        assert (status, body["error"]["code"]) == (410, "session_ended")
        # Nothing of it is reachable from the next session.
        sid2, page2 = await start(k, http, FakeBrowser())
        assert page2.token != page.token
        assert (await page.call("session.info"))[0] == 410
        assert (await page2.call("session.info"))[0] == 200
        await k.session.call_end_session(sid2, "home")
        await k.ended()


async def test_the_time_limit_ends_the_session(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + webapp_toml().replace(
            "time_limit = 300.0", "time_limit = 1.0"
        )
        await k.items.call_sync("office", catalogue, "web.toml")
        k.daemon.webapps.launcher = lambda _settings: browser
        await k.session.call_start_session("web_test", "zh_CN")
        last = await k.ended()
        assert (last["state"], last["ended_by"]) == ("expired", "timeout")
        assert browser.closed == 1


async def test_max_pages_bounds_what_a_page_prints(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        _sid, page = await start(k, http, browser)
        pdf = base64.b64encode(await sealed_pdf(k)).decode()
        assert (await page.call("print.pdf", {"pdf": pdf, "copies": 2}))[0] == 200
        status, body = await page.call("print.pdf", {"pdf": pdf, "copies": 2})
        assert (status, body["error"]["code"]) == (413, "too_large")  # max_pages = 3
        assert (await page.call("print.pdf", {"pdf": pdf}))[0] == 200
        assert (await page.call("print.pdf", {"pdf": pdf}))[0] == 413
        assert len(cupsd.captured()) == 3


def test_webapps_settings_defaults() -> None:
    settings = WebAppsSettings()
    assert (settings.browser, settings.bridge_port) == ("chromium", 0)


async def test_walking_away_ends_the_web_session(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd, "walkaway_timeout = 0.2") as k:
        _sid, page = await start(k, http, browser)
        k.daemon.bus.publish(PersonLeft("presence@test"))
        last = await k.ended()
        assert last["ended_by"] == "walked_away"
        assert browser.closed == 1
        assert (await page.call("session.info"))[0] == 410


DEVICES = '"idcard", "face", "qrscanner", "doccam"'


async def test_face_qr_and_document_camera_through_the_bridge(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + webapp_toml(devices=DEVICES)
        await k.items.call_sync("office", catalogue, "web.toml")
        k.daemon.webapps.launcher = lambda _settings: browser
        sid = await k.session.call_start_session("web_test", "zh_CN")
        await k.until(step="webapp", state="waiting")
        page = page_of(http, browser.urls[-1])
        # The face needs the card first.
        status, body = await page.call("face.verify")
        assert (status, body["error"]["code"]) == (409, "busy")
        reading = asyncio.ensure_future(page.call("idcard.read", {"fields": ["name"]}))
        await k.until(step="webapp_consent")
        await k.session.call_choose(sid, "agree")
        await k.until(step="identity", state="waiting")
        await k.card()
        assert (await asyncio.wait_for(reading, WAIT))[0] == 200
        # The face: the kiosk's own screen, the camera's live person is the card's holder.
        status, body = await page.call("face.verify")
        assert (status, body) == (200, {"matched": True})
        # A QR code scanned while the page waits for it.
        scanning = asyncio.ensure_future(page.call("qr.scan", {"timeout": 10}))
        while not scanning.done():  # the call subscribes when it arrives; scan until it has
            k.daemon.bus.publish(CodeScanned("qr@test", "https://zwfw.example.gov.cn/qr?x=1"))
            await asyncio.wait({scanning}, timeout=0.05)
        assert scanning.result() == (200, {"text": "https://zwfw.example.gov.cn/qr?x=1"})
        # Two pages under the document camera: each captured by itself, reviewed, accepted.
        capturing = asyncio.ensure_future(page.call("doccam.capture", {"pages": 2}))
        for number in (1, 2):
            await k.until(
                step="capture_materials", page=number, choices=["accept", "retake", "cancel"]
            )
            await k.session.call_choose(sid, "accept")
        status, body = await asyncio.wait_for(capturing, WAIT)
        assert status == 200
        pdf = base64.b64decode(body["pdf"])
        assert pdf.startswith(b"%PDF")
        assert count_pages(pdf) == 2
        await k.until(step="webapp", state="waiting")
        assert (await page.call("session.end"))[0] == 200
        last = await k.ended()
        assert (last["state"], last["camera"]) == ("done", "")


def page_of(http: aiohttp.ClientSession, url: str) -> Page:
    value = url.partition("#")[2].partition("=")[2]
    port, _, token = value.partition(".")
    return Page(http, int(port), token)


class BrokenBrowser(FakeBrowser):
    async def open(self, url: str, app: WebApp) -> None:
        self.urls.append(url)
        raise FileNotFoundError("chromium")


async def test_a_browser_that_does_not_start_fails_the_session_with_its_staff_code(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    browser = BrokenBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + webapp_toml()
        await k.items.call_sync("office", catalogue, "web.toml")
        k.daemon.webapps.launcher = lambda _settings: browser
        sid = await k.session.call_start_session("web_test", "zh_CN")
        state = await k.until(state="failed")
        assert (state["error_code"], state["staff_code"]) == ("webapp.browser", "W02")
        assert state["choices"] == ["finish"]
        assert browser.closed == 1
        page = page_of(http, browser.urls[-1])
        assert (await page.call("session.info"))[0] == 410  # revoked before the failure shows
        await k.session.call_choose(sid, "finish")
        assert (await k.ended())["state"] == "failed"


async def test_a_web_print_under_way_when_the_session_ends_is_cancelled_and_unspooled(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    browser = FakeBrowser()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        sid, page = await start(k, http, browser)
        pdf = base64.b64encode(await sealed_pdf(k)).decode()
        cupsd.hold()
        printing = asyncio.ensure_future(page.call("print.pdf", {"pdf": pdf}))
        await eventually(lambda: bool(cupsd.printing()), "the job mid-print", WAIT)
        await k.session.call_end_session(sid, "home")
        await k.ended()
        status, body = await asyncio.wait_for(printing, WAIT)
        assert (status, body["error"]["code"]) == (410, "session_ended")
        cupsd.release()
        connection = cupsd.connect()
        [job] = connection.getJobs(which_jobs="all")
        assert connection.getJobAttributes(job)["job-state"] == cups.IPP_JOB_CANCELED
        spool = cupsd.root / "spool"  # the document's file leaves the spool
        await eventually(lambda: not list(spool.glob("d*")), "the spool emptied", WAIT)
        assert cupsd.printed() == []


async def test_many_web_sessions_leave_no_tasks_files_or_tokens_behind(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, http: aiohttp.ClientSession
) -> None:
    """30 sessions, each with a call under way when it ends: tasks and open files come back
    to where they were after the first, and every token stays refused."""
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + webapp_toml()
        await k.items.call_sync("office", catalogue, "web.toml")
        pages: List[Page] = []
        baseline: Tuple[int, int] = (0, 0)
        for number in range(30):
            browser = FakeBrowser()
            k.daemon.webapps.launcher = lambda _settings, b=browser: b  # type: ignore[misc]
            sid = await k.session.call_start_session("web_test", "zh_CN")
            await k.until(step="webapp", state="waiting")
            page = page_of(http, browser.urls[-1])
            pages.append(page)
            assert (await page.call("speech.say", {"text": "您好"}))[0] == 200
            reading = asyncio.ensure_future(page.call("idcard.read"))
            await k.until(step="webapp_consent")
            await k.session.call_end_session(sid, "home")
            await k.ended()
            assert (await asyncio.wait_for(reading, WAIT))[0] == 410
            assert browser.closed == 1
            if number == 0:
                baseline = (len(asyncio.all_tasks()), len(os.listdir("/proc/self/fd")))
        tasks, files = len(asyncio.all_tasks()), len(os.listdir("/proc/self/fd"))
        assert tasks <= baseline[0] + 2
        assert files <= baseline[1] + 5
        statuses = {(await page.call("session.info"))[0] for page in pages}
        assert statuses <= {401, 410}  # older tokens forgotten are unknown, never valid
        assert k.daemon.webapps.sessions.current is None
