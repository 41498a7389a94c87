"""The department protocol carries PDF or OFD with its content type: the demo department
issues the OFD item as OFD when asked, the kiosk's adapter checks the stated type against
the bytes, and a department that predates OFD (``"pdf": base64``) still works."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from govkiosk.backends.base import BackendProtocolError, DocumentRequest
from govkiosk.backends.demo_data import HOUSEHOLD_LICENCE
from govkiosk.backends.http import HttpBackend
from govkiosk.security.doctype import OFD, PDF
from govkiosk.security.seal import SealVerifier
from govkiosk.security.settings import SealSettings
from harness.departments import RETIRED, KioskKey, Platform, platform


@pytest.fixture
def key(tmp_path: Path) -> KioskKey:
    return KioskKey(tmp_path / "kiosk")


@pytest.fixture
async def service(tmp_path: Path, key: KioskKey) -> AsyncIterator[Platform]:
    running = await platform(tmp_path / "seal", key)
    yield running
    await running.close()


def request(item: str, fmt: str) -> DocumentRequest:
    return DocumentRequest(item, "230103", RETIRED, "zh_CN", "consent-1", (), fmt)


async def test_the_ofd_item_comes_as_a_sealed_ofd(
    service: Platform, key: KioskKey, tmp_path: Path
) -> None:
    seal = tmp_path / "seal"
    trusted = (str(seal / "ca.pem"), str(seal / "sm2-root.pem"))
    verifier = SealVerifier.from_settings(SealSettings(trusted=trusted))
    backend = service.backend(key.signer())
    try:
        result = await backend.fetch_document(request("household_register_ofd", "ofd"))
        assert result.content_type == OFD
        assert result.pages == 2
        assert result.document.startswith(b"PK\x03\x04")
        assert repr(result).endswith(
            "application/ofd=<" + f"{len(result.document)} bytes withheld>)"
        )
        report = await verifier.verify_async(result.document)
        assert (report.scheme, report.issuer) == ("ofd-ses", "公安机关电子印章")
        # The same item asked for as PDF comes as a PAdES PDF: the kiosk takes both.
        paper = await backend.fetch_document(request(HOUSEHOLD_LICENCE, "pdf"))
        assert paper.content_type == PDF
        assert (await verifier.verify_async(paper.document)).scheme == "pades"
    finally:
        await backend.close()


@pytest.mark.parametrize(
    ("answer", "accepted"),
    [
        ({"content_type": OFD, "document": "JVBERi0xLjcK"}, False),  # says OFD, is a PDF
        ({"content_type": "text/html", "document": "JVBERi0xLjcK"}, False),
        ({"content_type": PDF, "document": "UEsDBAo="}, False),  # says PDF, is a bare zip
        ({"content_type": PDF, "document": "JVBERi0xLjcK"}, True),
        ({"pdf": "JVBERi0xLjcK"}, True),  # a department that predates OFD
    ],
)
async def test_the_stated_type_must_match_the_bytes(
    key: KioskKey, answer: dict, accepted: bool
) -> None:
    body = {"reference": "R1", "pages": 1, "summary": {}, **answer}

    async def reply(_request: web.Request) -> web.Response:
        return web.Response(body=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/documents", reply)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    backend = HttpBackend(str(server.make_url("")), key.signer(), retries=0)
    try:
        if accepted:
            result = await backend.fetch_document(request("x", "pdf"))
            assert result.document == base64.b64decode("JVBERi0xLjcK")
            assert result.content_type == PDF
        else:
            with pytest.raises(BackendProtocolError, match="the answer's document"):
                await backend.fetch_document(request("x", "pdf"))
    finally:
        await backend.close()
        await server.close()
