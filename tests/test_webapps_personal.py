"""§8 d after 100 web-app sessions in a real headless Chromium: every page put the
citizen's data in every store a page can reach (cookies, local and session storage,
IndexedDB, the Cache API, the HTTP cache, a service-worker-free history entry) and
nothing is left anywhere: each profile is gone, and no Chromium profile, cache or
temporary file outside it holds the data (home, /tmp, /dev/shm)."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import AsyncIterator, Set

import pytest
from aiohttp import web

from govkiosk.webapps.browser import KioskBrowser
from harness.browser import HttpsSite, needs_chromium
from harness.personal import every_file, scan, written_files

pytestmark = [needs_chromium, pytest.mark.timeout(900)]

SESSIONS = 100

PAGE = """<!doctype html><meta charset="utf-8"><title>record</title>
<body data-stage="loading">
<p id="who">{name} {id_number} {address}</p>
<img src="photo.png" alt="">
<script>
(async () => {{
  const who = document.getElementById("who").textContent;
  document.cookie = "who=" + encodeURIComponent(who) + "; max-age=86400; Secure";
  localStorage.setItem("who", who);
  sessionStorage.setItem("who", who);
  await new Promise((done, fail) => {{
    const open = indexedDB.open("records", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("r");
    open.onsuccess = () => {{
      const tx = open.result.transaction("r", "readwrite");
      tx.objectStore("r").put(who, "who");
      tx.oncomplete = done; tx.onerror = fail;
    }};
    open.onerror = fail;
  }});
  const cache = await caches.open("records");
  await cache.put("/record.json", new Response(JSON.stringify({{who}})));
  history.pushState({{who}}, "", "#" + encodeURIComponent(who));
  document.body.dataset.stage = "stored";
}})().catch(e => {{ document.body.dataset.stage = "failed " + e; }});
</script>"""


def identity(rng: random.Random) -> Set[str]:
    given = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(2))
    return {
        "网页" + given,
        "2301" + "".join(str(rng.randint(0, 9)) for _ in range(14)),
        f"黑龙江省哈尔滨市南岗区测试路{rng.randint(1000, 9999)}号",
    }


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[HttpsSite]:
    app = web.Application()
    current: dict = {}

    async def page(_request: web.Request) -> web.Response:
        name, id_number, address = current["who"]
        text = PAGE.format(name=name, id_number=id_number, address=address)
        # Cacheable on purpose: the HTTP cache must not outlive the session either.
        return web.Response(
            text=text, content_type="text/html", headers={"Cache-Control": "max-age=86400"}
        )

    async def photo(_request: web.Request) -> web.Response:
        return web.Response(body=current["photo"], content_type="image/png")

    app.router.add_get("/record", page)
    app.router.add_get("/photo.png", photo)
    site = HttpsSite(tmp_path / "site", app)
    site.current = current  # type: ignore[attr-defined]
    await site.start()
    yield site
    await site.close()


def png(rng: random.Random) -> bytes:
    import zlib  # noqa: PLC0415

    raw = b"".join(b"\0" + bytes(rng.randrange(256) for _ in range(8 * 3)) for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = (8).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def stored(browser: KioskBrowser) -> str:
    """The page's last stage: "stored", or "failed …" (bounded by the test's timeout, not
    by a guess of how fast a busy machine runs the page)."""
    await browser.first_paint.wait()
    while True:
        stage = str(await browser.evaluate("document.body ? document.body.dataset.stage : ''"))
        if stage == "stored" or stage.startswith("failed"):
            return stage
        await asyncio.sleep(0.05)


async def test_nothing_is_left_after_100_web_sessions(site: HttpsSite, tmp_path: Path) -> None:
    rng = random.Random()
    since = time.time()
    runtime = tmp_path / "profiles"
    terms: Set[str] = set()
    for _ in range(SESSIONS):
        who = identity(rng)
        terms |= who
        name = next(t for t in who if t.startswith("网页"))
        id_number = next(t for t in who if t.startswith("2301"))
        address = next(t for t in who if t.startswith("黑龙江"))
        site.current["who"] = (name, id_number, address)  # type: ignore[attr-defined]
        site.current["photo"] = png(rng)  # type: ignore[attr-defined]
        browser = KioskBrowser(site.launch(runtime), site.url("/record"), [site.origin()])
        await browser.start()
        try:
            assert await stored(browser) == "stored"
            profile = browser.profile
        finally:
            await browser.close()
        assert profile is not None
        assert not profile.exists()
    assert list(runtime.iterdir()) == []
    # Ours: nothing at all (no terms, no images). Elsewhere: none of the terms.
    assert scan(every_file(tmp_path), terms) >= 2  # what is left there: the site's own files
    home = Path.home()
    for place in (".cache/chromium", ".config/chromium"):
        directory = home / place
        assert not any(True for _ in written_files([directory], since, None)), directory
    elsewhere = [
        Path(tempfile.gettempdir()),
        Path("/dev/shm"),
        home / ".cache",
        home / ".config",
        home / ".pki",
    ]
    for path in set(written_files([p for p in elsewhere if p.exists()], since, None)):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # another program's file, gone or unreadable
        for term in terms:
            for encoding in ("utf-8", "utf-16-le"):
                assert term.encode(encoding) not in data, f"{path} holds personal data"
