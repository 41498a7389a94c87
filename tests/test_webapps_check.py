"""``govkioskctl webapp check URL`` against a real HTTPS server on 127.0.0.1 (a test CA), and
``webapp reference``; the pure header checks and the bridge schema fuzzed."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import AsyncIterator, Dict, List, Tuple

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.cli.check import webapp_item_check as webapp_row_check
from govkiosk.cli.webapp import header_findings
from govkiosk.webapps.errors import BadRequestError
from govkiosk.webapps.schema import METHODS, parse_body, parse_params
from harness.pki import CertificateAuthority
from webapp_items import webapp_toml

REPO = Path(__file__).resolve().parents[1]
GOOD_CSP = (
    "default-src 'self'; script-src 'self' http://127.0.0.1:*;"
    " connect-src 'self' http://127.0.0.1:*; frame-ancestors 'none'"
)
PAGE = '<html><script src="http://127.0.0.1:1234/v1/client.js"></script></html>'


async def _page(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind == "good":
        return web.Response(
            text=PAGE, content_type="text/html", headers={"Content-Security-Policy": GOOD_CSP}
        )
    if kind == "framable":
        return web.Response(text=PAGE, content_type="text/html")
    if kind == "noclient":
        return web.Response(
            text="<html></html>",
            content_type="text/html",
            headers={"Content-Security-Policy": GOOD_CSP},
        )
    raise web.HTTPFound("https://elsewhere.example.com/")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Tuple[str, Path]]:
    """``https://127.0.0.1:<port>`` serving /good, /framable, /noclient, /away; the CA's file."""
    ca = CertificateAuthority()
    cert, key = ca.issue_server().write(tmp_path, "server")
    cafile = ca.write(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    app = web.Application()
    app.router.add_get("/{kind}", _page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await server.start()
    port = runner.addresses[0][1]
    yield f"https://127.0.0.1:{port}", cafile
    await runner.cleanup()


async def ctl(*args: str) -> Tuple[int, List[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "govkiosk.cli.main",
        "webapp",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, (out + err).decode().splitlines()


async def test_a_good_page_passes(site: Tuple[str, Path]) -> None:
    base, cafile = site
    status, lines = await ctl("check", f"{base}/good", "--origin", base, "--cafile", str(cafile))
    assert status == 0, lines
    assert lines[-1] == "PASS"
    verdicts = {line.split(":")[0] for line in lines[:-1]}
    assert verdicts == {
        "PASS https",
        "PASS tls",
        "PASS origin",
        "PASS final origin",
        "PASS page",
        "PASS framing",
        "PASS csp",
        "PASS client.js",
    }


async def test_the_allow_list_comes_from_the_catalogue(
    site: Tuple[str, Path], tmp_path: Path
) -> None:
    base, cafile = site
    catalogue = tmp_path / "web.toml"
    catalogue.write_text(webapp_toml(), encoding="utf-8")
    status, lines = await ctl(
        "check",
        f"{base}/good",
        "--catalogue",
        str(catalogue),
        "--item",
        "web_test",
        "--cafile",
        str(cafile),
    )
    assert status == 1
    assert f"FAIL origin: {base} is not in the allow-list" in lines


async def test_an_untrusted_certificate_fails(site: Tuple[str, Path]) -> None:
    base, _cafile = site
    status, lines = await ctl("check", f"{base}/good", "--origin", base)
    assert status == 1
    assert any(line.startswith("FAIL tls: certificate not valid") for line in lines), lines


@pytest.mark.parametrize(
    ("path", "failure"),
    [("framable", "FAIL framing"), ("noclient", "FAIL client.js"), ("away", "FAIL fetch")],
)
async def test_pages_that_fail(site: Tuple[str, Path], path: str, failure: str) -> None:
    base, cafile = site
    status, lines = await ctl("check", f"{base}/{path}", "--origin", base, "--cafile", str(cafile))
    assert status == 1
    assert any(line.startswith(failure) for line in lines), lines


async def test_plain_http_fails_at_once() -> None:
    status, lines = await ctl("check", "http://127.0.0.1:9/x")
    assert (status, lines[0].split(":")[0]) == (1, "FAIL https")


async def test_the_reference_command_writes_the_doc(tmp_path: Path) -> None:
    out = tmp_path / "ref.md"
    assert (await ctl("reference", "--output", str(out)))[0] == 0
    assert out.read_text(encoding="utf-8") == (REPO / "docs" / "bridge-reference.md").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("headers", "verdicts"),
    [
        ({}, ["FAIL framing", "WARN csp"]),
        ({"x-frame-options": "DENY"}, ["PASS framing", "WARN csp"]),
        (
            {"content-security-policy": "script-src *; frame-ancestors 'self'"},
            ["PASS framing", "FAIL csp"],
        ),
        (
            {"content-security-policy": "default-src 'self'; frame-ancestors 'none'"},
            ["PASS framing", "FAIL csp"],  # the bridge is not reachable
        ),
        (
            {
                "content-security-policy": GOOD_CSP.replace(
                    "'self' http", "'self' 'unsafe-inline' http"
                )
            },
            ["PASS framing", "PASS csp", "WARN csp"],
        ),
    ],
)
def test_header_checks(headers: Dict[str, str], verdicts: List[str]) -> None:
    assert [f"{f.verdict} {f.check}" for f in header_findings(headers)] == verdicts


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


@pytest.mark.fuzz
@given(
    method=st.sampled_from(sorted(METHODS)),
    document=st.dictionaries(
        st.sampled_from(["fields", "pdf", "copies", "lines", "timeout", "pages", "text", "x"]),
        JSON,
        max_size=4,
    ),
)
def test_parse_params_accepts_or_refuses_with_bad_request(
    method: str, document: Dict[str, object]
) -> None:
    try:
        params = parse_params(METHODS[method], document)
    except BadRequestError as err:
        refused = str(err)
    else:
        refused = ""
        assert set(params) == {p.name for p in METHODS[method].params}
    # A refusal names the parameter (or the unknown one).
    names = (*tuple(f"{p.name}: " for p in METHODS[method].params), "unknown parameter")
    assert not refused or refused.startswith(names)


@pytest.mark.fuzz
@given(body=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_parse_body_is_an_object_or_bad_request(body: bytes) -> None:
    try:
        document = parse_body(body)
    except BadRequestError:
        return
    assert isinstance(document, dict)


@pytest.mark.fuzz
@given(
    headers=st.dictionaries(
        st.sampled_from(["content-security-policy", "x-frame-options"]),
        st.text(max_size=200),
        max_size=2,
    )
)
def test_header_checks_never_fail_to_answer(headers: Dict[str, str]) -> None:
    findings = header_findings(headers)
    assert findings
    assert all(f.verdict in ("PASS", "FAIL", "WARN") for f in findings)


async def test_the_kiosk_check_tests_a_web_item_by_its_page(site: Tuple[str, Path]) -> None:
    """``govkioskctl check``'s items stage: a web-app row is checked by its page (here the
    test CA is not the system's: the TLS check fails, and the fix names the command)."""
    base, _cafile = site
    row = {
        "code": "web_test",
        "kind": "webapp",
        "webapp_url": f"{base}/good",
        "webapp_origins": [base],
    }
    result = await webapp_row_check(row, "web_test 社保")
    assert (result.stage, result.status, result.mode) == ("items", "fail", "webapp")
    assert result.detail.startswith("tls: certificate not valid")
    assert result.fix == f"run govkioskctl webapp check {base}/good and see docs/webapps.md"
