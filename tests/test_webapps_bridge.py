"""The bridge against hostile callers: each attack of issue 19 item 3, performed with a real
HTTP client against the real server on 127.0.0.1, is refused; the page's own calls work."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

import aiohttp
import pytest

from govkiosk.webapps.bridge import AUDIT, Bridge, BridgeSession, Sessions, new_token
from govkiosk.webapps.errors import TooLargeError
from govkiosk.webapps.schema import METHODS, reference
from govkiosk.webapps.settings import WebAppsSettings
from harness.personal import needles
from webapp_items import ORIGIN, webapp_item

REPO = Path(__file__).resolve().parents[1]
OTHER = "https://evil.example.com"
NAME, ID_NUMBER = "张三丰", "230102199001011234"


@dataclass
class StubCalls:
    """The kiosk's side, recorded; the card says :data:`NAME` and :data:`ID_NUMBER`."""

    printed: List[int] = field(default_factory=list)
    said: List[str] = field(default_factory=list)
    ended: int = 0
    hold: Optional[asyncio.Event] = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)

    async def read_card(self, fields: Sequence[str]) -> Dict[str, str]:
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        card = {"name": NAME, "id_number": ID_NUMBER, "address": "哈尔滨市某路1号"}
        return {f: card[f] for f in fields}

    async def verify_face(self) -> bool:
        return True

    async def print_pdf(self, pdf: bytes, copies: int, pages_left: int) -> Tuple[str, int]:
        if copies > pages_left:
            raise TooLargeError("over max_pages")
        self.printed.append(copies)
        return f"job-{len(self.printed)}", 1

    async def print_receipt(self, lines: Sequence[Tuple[str, str]]) -> str:
        return "slip"

    async def scan_qr(self, timeout: float) -> str:
        return "code"

    async def capture_pages(self, pages: int) -> bytes:
        return b"%PDF-1.4"

    async def say(self, text: str) -> None:
        self.said.append(text)

    async def end(self) -> None:
        self.ended += 1


@dataclass
class Rig:
    bridge: Bridge
    sessions: Sessions
    http: aiohttp.ClientSession

    def open(self, calls: Optional[StubCalls] = None, **webapp: Any) -> Tuple[str, StubCalls]:
        calls = calls or StubCalls()
        loop = asyncio.get_running_loop()
        session = BridgeSession(webapp_item(**webapp), new_token(), loop.time() + 300, calls)
        self.sessions.open(session)
        return session.token, calls

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.bridge.port}/v1/"

    async def call(
        self,
        method: str,
        token: Optional[str],
        body: Any = None,
        *,
        origin: Optional[str] = ORIGIN,
        host: Optional[str] = None,
        raw: Optional[bytes] = None,
    ) -> Tuple[int, Dict[str, Any], Dict[str, str]]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if origin is not None:
            headers["Origin"] = origin
        if host is not None:
            headers["Host"] = host
        data = raw if raw is not None else json.dumps(body or {}).encode()
        async with self.http.post(self.base + method, data=data, headers=headers) as response:
            return response.status, await response.json(), dict(response.headers)


SMALL = WebAppsSettings(max_body=4096, rate=1000.0, burst=1000, max_print_jobs=10)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    settings = SMALL
    sessions = Sessions()
    bridge = Bridge(sessions, lambda: settings)
    await bridge.start()
    async with aiohttp.ClientSession() as http:
        yield Rig(bridge, sessions, http)
    await bridge.stop()


async def test_the_page_reads_the_declared_fields_and_ends(rig: Rig) -> None:
    token, calls = rig.open()
    status, body, headers = await rig.call("session.info", token)
    assert status == 200
    assert body["item"] == "web_test"
    assert body["fields"] == ["name", "id_number"]
    assert 299 < body["expires_in"] <= 300
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Cache-Control"] == "no-store"
    assert headers["Server"] == "govkiosk-bridge"
    status, body, _ = await rig.call("idcard.read", token, {"fields": ["name"]})
    assert (status, body) == (200, {"fields": {"name": NAME}})
    status, body, _ = await rig.call("idcard.read", token)  # all declared fields
    assert body == {"fields": {"name": NAME, "id_number": ID_NUMBER}}
    assert (await rig.call("speech.say", token, {"text": "请取走回执"}))[0] == 200
    assert calls.said == ["请取走回执"]
    assert (await rig.call("session.end", token))[:2] == (200, {})
    assert calls.ended == 1


async def test_client_js_is_served_with_the_schema_methods_and_no_secret(rig: Rig) -> None:
    rig.open()
    async with rig.http.get(rig.base + "client.js") as response:
        assert response.status == 200
        assert response.content_type == "application/javascript"
        text = await response.text()
    assert json.dumps(list(METHODS)) in text
    assert "/*METHODS*/" not in text
    assert "replaceState" in text
    assert rig.sessions.current is not None
    assert rig.sessions.current.token not in text


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer wrong", "Basic x", "bearer {token}"]
)
async def test_a_missing_or_wrong_token_is_refused(rig: Rig, authorization: Optional[str]) -> None:
    token, calls = rig.open()
    headers = {"Content-Type": "application/json", "Origin": ORIGIN}
    if authorization is not None:
        headers["Authorization"] = authorization.format(token=token)
    async with rig.http.post(rig.base + "idcard.read", data=b"{}", headers=headers) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"
        assert "Access-Control-Allow-Origin" not in response.headers
    assert calls.ended == 0


async def test_a_guessed_token_of_the_right_shape_is_refused(rig: Rig) -> None:
    token, _ = rig.open()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    status, body, _ = await rig.call("session.info", new_token())
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_the_token_of_an_ended_session_is_refused(rig: Rig) -> None:
    token, _ = rig.open()
    session = rig.sessions.current
    assert session is not None
    rig.sessions.close(session)
    for method in ("session.info", "idcard.read", "print.receipt", "session.end"):
        status, body, _ = await rig.call(method, token, {})
        assert (status, body["error"]["code"]) == (410, "session_ended")


async def test_a_second_session_does_not_accept_the_first_ones_token(rig: Rig) -> None:
    first, _ = rig.open()
    second, calls = rig.open(code="web_other")
    assert first != second
    assert (await rig.call("session.info", first))[0] == 410
    status, body, _ = await rig.call("session.info", second)
    assert (status, body["item"]) == (200, "web_other")
    status, _, _ = await rig.call("idcard.read", first, {"fields": ["name"]})
    assert status == 410
    assert calls.ended == 0


@pytest.mark.parametrize(
    "origin", [OTHER, None, "null", ORIGIN + ":444", "http://apps.example.gov.cn"]
)
async def test_another_origin_or_none_is_refused(rig: Rig, origin: Optional[str]) -> None:
    token, _ = rig.open()
    status, body, headers = await rig.call(
        "idcard.read", token, {"fields": ["name"]}, origin=origin
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "Access-Control-Allow-Origin" not in headers
    assert NAME not in json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize(
    "host", ["evil.example.com", "localhost:{port}", "127.0.0.1", "evil.example.com:{port}"]
)
async def test_another_host_name_is_refused_dns_rebinding(rig: Rig, host: str) -> None:
    token, _ = rig.open()
    shown = host.format(port=rig.bridge.port)
    status, body, _ = await rig.call("idcard.read", token, {"fields": ["name"]}, host=shown)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    async with rig.http.get(rig.base + "client.js", headers={"Host": shown}) as response:
        assert response.status == 403


async def test_cors_preflight_is_answered_only_for_the_sessions_origins(rig: Rig) -> None:
    rig.open()
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
        "Access-Control-Request-Private-Network": "true",
    }
    url = rig.base + "idcard.read"
    async with rig.http.options(url, headers={**ask, "Origin": OTHER}) as response:
        assert response.status == 403
        assert not [h for h in response.headers if h.lower().startswith("access-control")]
    async with rig.http.options(url, headers={**ask, "Origin": ORIGIN}) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Allow-Private-Network"] == "true"
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    # The client's script, loaded by a public page from a private address (Private Network
    # Access asks first for it too): GET there only.
    script = {**ask, "Access-Control-Request-Method": "GET", "Origin": ORIGIN}
    async with rig.http.options(rig.base + "client.js", headers=script) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Private-Network"] == "true"
    async with rig.http.options(url, headers=script) as response:
        assert response.status == 403  # GET is for the script only
    async with rig.http.options(rig.base + "client.js", headers={**script, "Origin": OTHER}) as r:
        assert r.status == 403
    session = rig.sessions.current
    assert session is not None
    rig.sessions.close(session)
    async with rig.http.options(url, headers={**ask, "Origin": ORIGIN}) as response:
        assert response.status == 403  # no session: no origin is allowed


async def test_undeclared_fields_and_devices_are_refused(rig: Rig) -> None:
    token, _ = rig.open()
    for fields in (["address"], ["name", "address"], ["photo"], []):
        status, body, _ = await rig.call("idcard.read", token, {"fields": fields})
        assert (status, body["error"]["code"]) == (403, "forbidden"), fields
        assert "哈尔滨" not in json.dumps(body, ensure_ascii=False)
    for method, params in (("qr.scan", {}), ("doccam.capture", {}), ("face.verify", {})):
        status, body, _ = await rig.call(method, token, params)
        assert (status, body["error"]["code"]) == (403, "forbidden"), method


async def test_bad_requests_and_unknown_methods(rig: Rig) -> None:
    token, _ = rig.open()
    assert (await rig.call("idcard.read", token, raw=b"{not json"))[0] == 400
    assert (await rig.call("idcard.read", token, raw=b"[1]"))[0] == 400
    assert (await rig.call("idcard.read", token, {"fields": "name"}))[0] == 400
    assert (await rig.call("print.pdf", token, {"pdf": "@@@"}))[0] == 400
    assert (await rig.call("print.pdf", token, {"pdf": "JVBE", "copies": 99}))[0] == 400
    assert (await rig.call("speech.say", token, {"text": "x", "more": 1}))[0] == 400
    status, body, _ = await rig.call("shell.run", token, {})
    assert (status, body["error"]["code"]) == (404, "unknown_method")
    headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN, "Content-Type": "text/plain"}
    async with rig.http.post(rig.base + "session.info", data=b"{}", headers=headers) as response:
        assert response.status == 400


async def test_an_oversized_body_is_refused_before_it_is_read(rig: Rig) -> None:
    token, calls = rig.open()
    pdf = base64.b64encode(b"%PDF" + bytes(SMALL.max_body)).decode()
    status, body, _ = await rig.call("print.pdf", token, {"pdf": pdf})
    assert (status, body["error"]["code"]) == (413, "too_large")
    assert calls.printed == []


async def test_ten_thousand_print_requests_are_bounded(rig: Rig) -> None:
    """Rate limit first (the default settings' bucket), then the session's print jobs and
    the item's max_pages: at most a handful of pages come out."""
    sessions = Sessions()
    bridge = Bridge(sessions, WebAppsSettings)
    await bridge.start()
    try:
        rig = Rig(bridge, sessions, rig.http)
        token, calls = rig.open(max_pages=5)
        pdf = base64.b64encode(b"%PDF-1.4 one page").decode()
        statuses: Dict[int, int] = {}

        async def one() -> None:
            status, _, _ = await rig.call("print.pdf", token, {"pdf": pdf})
            statuses[status] = statuses.get(status, 0) + 1

        for _batch in range(100):
            await asyncio.gather(*(one() for _ in range(100)))
        assert sum(statuses.values()) == 10_000
        assert sum(calls.printed) <= 5  # the item's max_pages
        assert statuses[200] == 5
        assert statuses[429] > 9_000  # the rest mostly never got past the bucket
        assert set(statuses) <= {200, 409, 413, 429}
    finally:
        await bridge.stop()


async def test_one_device_call_at_a_time(rig: Rig) -> None:
    hold = asyncio.Event()
    token, calls = rig.open(StubCalls(hold=hold))
    first = asyncio.ensure_future(rig.call("idcard.read", token, {"fields": ["name"]}))
    await asyncio.wait_for(calls.entered.wait(), 10)
    status, body, _ = await rig.call("print.receipt", token, {"lines": [{"text": "x"}]})
    assert (status, body["error"]["code"]) == (409, "busy")
    hold.set()
    assert (await first)[0] == 200


async def test_the_bridge_listens_on_loopback_only(rig: Rig) -> None:
    rig.open()
    assert rig.bridge.host == f"127.0.0.1:{rig.bridge.port}"
    listening = list(rig.bridge._runner.sites)  # type: ignore[union-attr]
    assert [site.name for site in listening] == [f"http://127.0.0.1:{rig.bridge.port}"]
    for address in ("127.0.0.2", _outside_address()):
        if address is None:
            continue
        with socket.socket() as probe:
            probe.settimeout(2)
            with pytest.raises(ConnectionRefusedError):
                probe.connect((address, rig.bridge.port))


def _outside_address() -> Optional[str]:
    """This machine's address on its default route, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_every_call_is_audited_without_personal_data(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, _ = rig.open()
    await rig.call("idcard.read", token, {"fields": ["name", "id_number"]})
    await rig.call("speech.say", token, {"text": f"{NAME}您好"})
    await rig.call("idcard.read", token, {"fields": ["name"]}, origin=OTHER)
    await rig.call(f"x{ID_NUMBER}", token, {})
    await rig.call("idcard.read", None, {"fields": ["name"]})
    audit = [r.getMessage() for r in caplog.records if r.name == AUDIT.name]
    assert len(audit) == 5
    assert "idcard.read -> 200 ok" in audit[0]
    assert "speech.say -> 200 ok" in audit[1]
    assert "idcard.read -> 403 forbidden" in audit[2]
    assert "? -> 404 unknown_method" in audit[3]
    assert "-> 401 unauthorized" in audit[4]
    everything = "\n".join(caplog.text.splitlines()).encode("utf-8")
    for needle in needles({NAME, ID_NUMBER, token}):
        assert needle not in everything


def test_the_bridge_reference_is_current() -> None:
    """docs/bridge-reference.md is generated from the schema (make bridge-reference)."""
    assert (REPO / "docs" / "bridge-reference.md").read_text(encoding="utf-8") == reference()


async def test_an_oversized_chunked_body_is_refused(rig: Rig) -> None:
    """No Content-Length: the server stops reading at the cap."""
    token, calls = rig.open()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"pdf": "'
        for _ in range(SMALL.max_body // 1024 + 2):
            yield b"A" * 1024
        yield b'"}'

    headers = {
        "Authorization": f"Bearer {token}",
        "Origin": ORIGIN,
        "Content-Type": "application/json",
    }
    async with rig.http.post(rig.base + "print.pdf", data=chunks(), headers=headers) as response:
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "too_large"
    assert calls.printed == []


async def _raw(port: int, request: bytes) -> int:
    """Send ``request`` as it is on a new connection; the answer's status (0: none)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


@pytest.mark.fuzz
async def test_random_requests_get_200_only_with_every_check_passed(rig: Rig) -> None:
    """Requests put together at random from right and wrong parts, sent raw: an answer of
    200 comes exactly when host, token, origin, content type, method and body are all right,
    and the server answers (or closes) every one and stays up."""
    token, _ = rig.open()
    rng = random.Random(1919)
    port = rig.bridge.port
    hosts = [
        (f"127.0.0.1:{port}", True),
        ("localhost", False),
        (f"evil:{port}", False),
        (None, False),
    ]
    origins = [(ORIGIN, True), (OTHER, False), ("null", False), (None, False)]
    tokens = [
        (f"Bearer {token}", True),
        ("Bearer x", False),
        (f"Basic {token}", False),
        (None, False),
    ]
    types = [("application/json", True), ("text/plain", False), (None, False)]
    paths = [("/v1/session.info", True), ("/v1/nothing", False), ("/v2/session.info", False)]
    bodies = [(b"{}", True), (b"", True), (b'{"x": 1}', False), (b"[", False), (b"\xff\xfe", False)]
    methods = [("POST", True), ("PUT", False), ("GET", False)]
    answered = {True: 0, False: 0}
    for _case in range(300):
        parts = [
            pick(rng, choices)
            for choices in (hosts, origins, tokens, types, paths, bodies, methods)
        ]
        (host, _), (origin, _), (auth, _), (kind, _), (path, _), (body, _), (method, _) = parts
        lines = [f"{method} {path} HTTP/1.1"]
        for name, value in (
            ("Host", host),
            ("Origin", origin),
            ("Authorization", auth),
            ("Content-Type", kind),
        ):
            if value is not None:
                lines.append(f"{name}: {value}")
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        status = await _raw(port, request)
        assert status != 0
        assert (status == 200) == all(ok for _value, ok in parts), (request, status)
        answered[status == 200] += 1
    assert (await rig.call("session.info", token))[0] == 200
    assert min(answered.values()) > 30  # both kinds of answer were tried many times


def pick(rng: random.Random, choices: List[Tuple[Any, bool]]) -> Tuple[Any, bool]:
    """A right part four times in five, else a wrong one."""
    right = [c for c in choices if c[1]]
    wrong = [c for c in choices if not c[1]]
    return rng.choice(right if rng.random() < 0.8 else wrong)
