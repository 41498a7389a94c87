"""Fault matrix: the department's platform slow, timing out, answering 5xx, malformed
or oversized bodies, behind a real HTTP server on loopback (a proxy in front of the demo
department, so the good answers are real sealed certificates).

For each, the citizen reads a clear message with the right next action, the kiosk
retries only what is idempotent (counted at the server: every attempt carries the
same ``Idempotency-Key``), and the query step never outlives its limit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, List, Tuple

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from govkiosk.backends.http import IDEMPOTENCY_KEY, MAX_RESPONSE
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk

ITEM = "id_card_print"
QUERY_LIMIT = 3.0  # a real certificate (sealing) in time on a busy machine
#: [backends] retries in the kiosk's defaults: three attempts where a retry is safe.
ATTEMPTS = 3


@dataclass
class FaultyPlatform:
    """A loopback HTTP server in front of the demo department: ``mode`` says how it
    answers; ``keys`` is the ``Idempotency-Key`` of every request it received."""

    upstream: str = ""
    mode: str = "pass"
    keys: List[str] = field(default_factory=list)
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.keys.append(request.headers.get(IDEMPOTENCY_KEY, ""))
        body = await request.read()
        if self.mode == "5xx":
            return web.json_response({"code": "busy", "message": "系统繁忙"}, status=503)
        if self.mode == "gateway":  # a gateway's HTML error page
            return web.Response(status=502, text="<html>Bad Gateway</html>")
        if self.mode == "malformed":
            return web.Response(status=200, body=b'{"reference": "R1", "pages": 1, "pdf": "JVB')
        if self.mode == "oversized":
            big = b'{"reference": "R1", "pages": 1, "pdf": "' + b"A" * (MAX_RESPONSE + 1024)
            return web.Response(status=200, body=big + b'"}', content_type="application/json")
        if self.mode == "slow":
            await self.hang.wait()  # answers only once the test ends
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with aiohttp.ClientSession() as http, http.post(
            self.upstream + request.raw_path, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            return web.Response(status=answer.status, body=payload, content_type="application/json")


@pytest.fixture
async def faulty() -> AsyncIterator[TestServer]:
    server = TestServer(web.Application(), host="127.0.0.1")
    yield server
    await server.close()


async def running(server: TestServer, platform: FaultyPlatform) -> str:
    server.app.router.add_post("/v1/documents", platform.handle)
    await server.start_server()
    return str(server.make_url("")).rstrip("/")


def route(url: str) -> str:
    return f'\n[[backends.routes]]\nitem = "{ITEM}"\nurl = "{url}"\n'


async def to_query(k: Kiosk) -> Tuple[str, float]:
    """Start the item, present a card, confirm, agree: the session id, querying, and
    the loop's time when the citizen agreed (the query starts then)."""
    sid: str = await k.session.call_start_session(ITEM, "zh_CN")
    await k.until(step="identity", state="waiting")
    await k.card()
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    agreed = asyncio.get_running_loop().time()
    await k.session.call_choose(sid, "agree")
    return sid, agreed


@pytest.mark.parametrize(
    "case",
    [
        ("5xx", "backend.unavailable", "暂时无法访问", ATTEMPTS),  # safe to retry: same key
        ("gateway", "backend.unavailable", "暂时无法访问", ATTEMPTS),
        ("malformed", "backend.protocol", "部门系统出现问题", 1),  # never retried
        ("oversized", "backend.protocol", "部门系统出现问题", 1),
        ("slow", "backend.timeout", "响应超时", 1),  # the step's limit, not 3 × 20 s
    ],
)
async def test_a_misbehaving_platform_fails_the_query_clearly_and_the_retry_prints_once(
    tmp_path: Path,
    private_bus: PrivateBus,
    cupsd: CupsServer,
    faulty: TestServer,
    case: Tuple[str, str, str, int],
) -> None:
    mode, code, words, attempts = case
    platform = FaultyPlatform(mode=mode)
    url = await running(faulty, platform)
    limit = f"query_timeout = {QUERY_LIMIT}"
    try:
        async with kiosk(tmp_path, private_bus, cupsd, limit, routes=route(url)) as k:
            platform.upstream = k.department_url
            loop = asyncio.get_running_loop()
            sid, started = await to_query(k)
            state = await k.until(state="failed")
            took = loop.time() - started
            assert (state["step"], state["error_code"]) == ("query", code)
            assert state["choices"] == ["retry", "cancel"]
            assert words in state["message"]
            assert state["staff_code"]  # staff can look the code up
            assert len(platform.keys) == attempts
            assert len(set(platform.keys)) == 1  # every attempt the same request
            assert took < QUERY_LIMIT + 2.0  # the step's limit held (plus D-Bus slack)
            assert k.department.issued == 0 or mode == "slow"
            # The platform recovers; the citizen retries: one certificate, one print.
            platform.mode = "pass"
            platform.hang.set()
            await k.session.call_choose(sid, "retry")
            await k.until(step="preview", state="waiting")
            await k.session.call_choose(sid, "print")
            await k.until(step="done", state="done")
            await k.session.call_choose(sid, "finish")
            await k.ended()
            assert k.department.issued == 1
            assert len(set(platform.keys)) == 1  # the citizen's retry: the same key
            assert len(cupsd.printed()) == 1
    finally:
        platform.hang.set()
