"""Web apps in a real headless Chromium: HTTPS sites on loopback under test host names.

Chromium trusts the test site by the SPKI hash of its certificate
(``--ignore-certificate-errors-spki-list``) and resolves every ``*.test`` name to
127.0.0.1 (``--host-resolver-rules``), so one loopback server serves several origins
(``https://dept.test:<port>``, ``https://evil.test:<port>``). ``--no-sandbox`` is for
the root CI container only; the product's launcher never adds it.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
from pathlib import Path
from typing import Awaitable, Callable, Dict, Optional, Tuple

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from govkiosk.fleet.pki import CertificateAuthority, Credential
from govkiosk.webapps.browser import BrowserLaunch, Window

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
HOSTS = ("dept.test", "evil.test", "other.test")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def spki_hash(credential: Credential) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)), as ``--ignore-certificate-errors-spki-list`` wants."""
    der = credential.certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def browser_args(credential: Credential, headless: bool = True) -> Tuple[str, ...]:
    """The test-only switches: trust the test site, map ``*.test`` to loopback."""
    args = (
        "--no-sandbox",
        f"--ignore-certificate-errors-spki-list={spki_hash(credential)}",
        "--host-resolver-rules=MAP *.test 127.0.0.1",
    )
    return ("--headless=new", *args) if headless else args


class HttpsSite:
    """One aiohttp server with TLS on 127.0.0.1, serving pages for every test host."""

    def __init__(self, directory: Path, app: Optional[web.Application] = None) -> None:
        """``app``: what to serve (a department's application); else :attr:`pages`."""
        self.directory = directory
        self._app = app
        self.ca = CertificateAuthority("govkiosk web-app test CA")
        self.credential = self.ca.issue_server(("127.0.0.1", *HOSTS))
        self.pages: Dict[str, str] = {}
        self.hits: Dict[str, int] = {}
        self.port = 0
        self._runner: Optional[web.AppRunner] = None

    def origin(self, host: str = "dept.test") -> str:
        return f"https://{host}:{self.port}"

    def url(self, path: str, host: str = "dept.test") -> str:
        return f"{self.origin(host)}{path}"

    async def _page(self, request: web.Request) -> web.StreamResponse:
        key = f"{request.host.split(':')[0]}{request.path}"
        self.hits[key] = self.hits.get(key, 0) + 1
        body = self.pages.get(key, self.pages.get(request.path))
        if body is None:
            return web.Response(status=404, text="no such page")
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def start(self) -> HttpsSite:
        cert, key = self.credential.write(self.directory, "site")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = self._app
        if app is None:
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    def launch(self, runtime_dir: Path, headless: bool = True) -> BrowserLaunch:
        return BrowserLaunch(
            runtime_dir=runtime_dir,
            command=(CHROMIUM or "chromium",),
            window=Window(0, 80, 1280, 720),
            extra_args=browser_args(self.credential, headless),
            start_timeout=60.0,
        )

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
