"""The hardware bridge: HTTP/1.1 JSON on 127.0.0.1 for the current web-app session's page.

Only the current session's page gets an answer. Every request is checked in this order,
and the first failure answers (docs/bridge-reference.md for the codes):

1. ``Host`` must be ``127.0.0.1:<port>`` exactly — a DNS-rebinding page reaches us with
   its own name there;
2. ``GET /v1/client.js`` is the JS client (no token: it holds nothing);
3. ``OPTIONS`` (CORS preflight) is answered only for an origin of the current session's
   item, with ``Access-Control-Allow-Private-Network``; any other gets a bare 403;
4. ``POST /v1/<method>``: the bearer token (compared in constant time with the current
   session's; a recently ended session's token is told 410), then ``Origin`` against the
   item's ``origins``, the content type, the body's size before it is read, the
   session's rate (token bucket), the method, the device it needs against the item's
   ``devices``, the parameters (:mod:`.schema`), one device call at a time.

Each call is audited on the ``govkiosk.webapps.audit`` logger: item, method, status,
outcome code and milliseconds — never a parameter or a result.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Tuple,
)

from ..items.catalogue import Item, WebApp
from .errors import (
    BadRequestError,
    BridgeError,
    BusyError,
    ForbiddenError,
    RateLimitedError,
    SessionEndedError,
    TooLargeError,
    UnauthorizedError,
    UnknownMethodError,
)
from .schema import METHODS, VERSION, Method, client_methods, parse_body, parse_params
from .settings import WebAppsSettings

if TYPE_CHECKING:
    from aiohttp import web

_LOGGER = logging.getLogger(__name__)
AUDIT = logging.getLogger("govkiosk.webapps.audit")

CLIENT_JS = Path(__file__).parent / "client.js"
#: How many ended sessions' tokens (as hashes) are remembered, to answer 410 not 401.
REMEMBERED = 32
PREFIX = f"/{VERSION}/"


def new_token() -> str:
    """32 random bytes, base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class KioskCalls(Protocol):
    """What the bridge's methods do on the kiosk (:mod:`.session` for the real ones)."""

    async def read_card(self, fields: Sequence[str]) -> Dict[str, str]: ...

    async def verify_face(self) -> bool: ...

    async def print_pdf(self, pdf: bytes, copies: int, pages_left: int) -> Tuple[str, int]:
        """Print; the pages of one copy. :class:`TooLargeError` (nothing printed) when
        pages × copies is over ``pages_left``."""

    async def print_receipt(self, lines: Sequence[Tuple[str, str]]) -> str: ...

    async def scan_qr(self, timeout: float) -> str: ...

    async def capture_pages(self, pages: int) -> bytes: ...

    async def say(self, text: str) -> None: ...

    async def end(self) -> None: ...


@dataclass
class BridgeSession:
    """One web-app session as the bridge sees it."""

    item: Item
    token: str
    deadline: float  #: loop time
    calls: KioskCalls
    tokens: float = 0.0  #: the rate bucket
    refilled: float = 0.0
    busy: bool = False
    print_jobs: int = 0
    pages: int = 0  #: A4 pages printed (copies counted)
    ended: bool = False
    digest: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        self.digest = _digest(self.token)

    def __repr__(self) -> str:
        return f"BridgeSession({self.item.code}, <token withheld>)"

    @property
    def app(self) -> WebApp:
        assert self.item.webapp is not None
        return self.item.webapp

    def take(self, now: float, rate: float, burst: int) -> bool:
        """One call from the rate bucket; False when it is empty."""
        if self.refilled == 0.0:
            self.tokens, self.refilled = float(burst), now
        self.tokens = min(float(burst), self.tokens + (now - self.refilled) * rate)
        self.refilled = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class Sessions:
    """The current web-app session (at most one) and the digests of ended ones' tokens."""

    def __init__(self) -> None:
        self.current: Optional[BridgeSession] = None
        self._ended: Deque[bytes] = deque(maxlen=REMEMBERED)

    def open(self, session: BridgeSession) -> None:
        if self.current is not None:
            self.close(self.current)
        self.current = session

    def close(self, session: BridgeSession) -> None:
        """The session's token is invalid from now on."""
        session.ended = True
        self._ended.append(session.digest)
        if self.current is session:
            self.current = None

    def find(self, token: str) -> BridgeSession:
        digest = _digest(token)
        current = self.current
        if current is not None and hmac.compare_digest(digest, current.digest):
            return current
        if any(hmac.compare_digest(digest, d) for d in self._ended):
            raise SessionEndedError("this session has ended")
        raise UnauthorizedError("not the current session's token")


def _error(err: BridgeError, headers: Mapping[str, str]) -> web.Response:
    from aiohttp import web  # noqa: PLC0415 - loaded with the first web-app session

    body = {"error": {"code": err.code, "message": str(err)}}
    return web.json_response(body, status=err.status, headers=dict(headers))


_BASE_HEADERS = {
    "Server": "govkiosk-bridge",  # not aiohttp's, with its version
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Bridge:
    """The server; :meth:`start` binds 127.0.0.1 (never another address)."""

    def __init__(
        self,
        sessions: Sessions,
        settings: Callable[[], WebAppsSettings],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self._settings = settings
        self._clock = clock
        self._runner: Optional[web.AppRunner] = None
        self.port = 0
        self._client_js: Optional[bytes] = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        from aiohttp import web  # noqa: PLC0415 - loaded with the first web-app session

        if self._runner is not None:
            return
        settings = self._settings()
        app = web.Application(client_max_size=settings.max_body)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", settings.bridge_port, reuse_address=False)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        _LOGGER.info("bridge: listening on 127.0.0.1:%d", self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def client_js(self) -> bytes:
        if self._client_js is None:
            text = CLIENT_JS.read_text(encoding="utf-8")
            self._client_js = text.replace("/*METHODS*/[]", json.dumps(client_methods())).encode(
                "utf-8"
            )
        return self._client_js

    # Requests ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        headers: Dict[str, str] = dict(_BASE_HEADERS)
        item, method_name = "-", "-"
        status, code = 200, "ok"
        try:
            try:
                response = await self._dispatch(request, headers)
            except BridgeError as err:
                status, code = err.status, err.code
                response = _error(err, headers)
            except Exception as err:  # noqa: BLE001 - no traceback (or its data) reaches a page
                _LOGGER.error(  # noqa: TRY400 - a traceback could carry what the page sent
                    "bridge: a call failed: %s", type(err).__name__
                )
                failure = BridgeError("the call failed")
                status, code = failure.status, failure.code
                response = _error(failure, headers)
            status = response.status
        finally:
            session = self.sessions.current
            if request.method == "POST" and request.path.startswith(PREFIX):
                name = request.path[len(PREFIX) :]
                method_name = name if name in METHODS else "?"
            if session is not None and status != 401:
                item = session.item.code
            if request.method != "GET":
                AUDIT.info(
                    "bridge: %s %s %s -> %d %s (%.1f ms)",
                    item,
                    request.method,
                    method_name,
                    status,
                    code,
                    (time.perf_counter() - started) * 1000,
                )
        return response

    async def _dispatch(self, request: web.Request, headers: Dict[str, str]) -> web.StreamResponse:
        from aiohttp import web  # noqa: PLC0415 - loaded with the first web-app session

        if request.headers.get("Host") != self.host:
            raise ForbiddenError("wrong Host")
        if request.method == "GET" and request.path == f"{PREFIX}client.js":
            return web.Response(
                body=self.client_js(),
                content_type="application/javascript",
                charset="utf-8",
                headers={**headers, "Access-Control-Allow-Origin": "*"},
            )
        origin = request.headers.get("Origin", "")
        if request.method == "OPTIONS":
            return self._preflight(origin, request, headers)
        if request.method != "POST" or not request.path.startswith(PREFIX):
            raise UnknownMethodError("no such resource")
        session = self._authorised(request)
        if origin not in session.app.origins:
            raise ForbiddenError("origin not allowed")
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
        if request.content_type != "application/json":
            raise BadRequestError("Content-Type must be application/json")
        settings = self._settings()
        length = request.content_length
        if length is not None and length > settings.max_body:
            raise TooLargeError(f"the body is over {settings.max_body} bytes")
        if not session.take(self._clock(), settings.rate, settings.burst):
            raise RateLimitedError("too many calls; slow down")
        method = METHODS.get(request.path[len(PREFIX) :])
        if method is None:
            raise UnknownMethodError("no such method")
        if method.device is not None and method.device not in session.app.devices:
            raise ForbiddenError(f"the item did not declare the device {method.device}")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise TooLargeError(f"the body is over {settings.max_body} bytes") from None
        params = parse_params(method, parse_body(body))
        result = await self._call(session, method, params)
        if session.ended and method.name != "session.end":
            raise SessionEndedError("the session ended during the call")
        return web.json_response(result, headers=headers, dumps=_dumps)

    def _authorised(self, request: web.Request) -> BridgeSession:
        authorization = request.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            raise UnauthorizedError("a Bearer token is required")
        return self.sessions.find(token.strip())

    def _preflight(
        self, origin: str, request: web.Request, headers: Dict[str, str]
    ) -> web.Response:
        from aiohttp import web  # noqa: PLC0415 - loaded with the first web-app session

        session = self.sessions.current
        if session is None or not origin or origin not in session.app.origins:
            raise ForbiddenError("origin not allowed")
        asked = request.headers.get("Access-Control-Request-Method", "")
        script = request.path == f"{PREFIX}client.js"
        if asked != ("GET" if script else "POST"):  # the client's GET: Private Network Access
            raise ForbiddenError("only POST is allowed")
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": asked,
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Allow-Private-Network": "true",
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
        )
        return web.Response(status=204, headers=headers)

    async def _call(
        self, session: BridgeSession, method: Method, params: Dict[str, Any]
    ) -> Dict[str, Any]:
        name = method.name
        if name == "session.info":
            left = max(0.0, session.deadline - asyncio.get_running_loop().time())
            app = session.app
            return {
                "item": session.item.code,
                "fields": list(app.fields),
                "devices": list(app.devices),
                "expires_in": round(left, 1),
            }
        if name == "session.end":
            await session.calls.end()
            return {}
        if session.busy:
            raise BusyError("another device call is under way")
        session.busy = True
        try:
            return await self._device(session, name, params)
        finally:
            session.busy = False

    async def _device(
        self, session: BridgeSession, name: str, params: Dict[str, Any]
    ) -> Dict[str, Any]:
        calls, app = session.calls, session.app
        if name == "idcard.read":
            wanted = params["fields"] if params["fields"] is not None else app.fields
            undeclared = [f for f in wanted if f not in app.fields]
            if undeclared or not wanted:
                raise ForbiddenError("a field the item did not declare was asked for")
            return {"fields": await calls.read_card(tuple(dict.fromkeys(wanted)))}
        if name == "face.verify":
            return {"matched": await calls.verify_face()}
        if name in ("print.pdf", "print.receipt"):
            if session.print_jobs >= self._settings().max_print_jobs:
                raise TooLargeError("no more print jobs in this session")
            session.print_jobs += 1
            if name == "print.receipt":
                return {"job": await calls.print_receipt(params["lines"])}
            copies = params["copies"]
            job, pages = await calls.print_pdf(params["pdf"], copies, app.max_pages - session.pages)
            session.pages += pages * copies
            return {"job": job, "pages": pages}
        if name == "qr.scan":
            return {"text": await calls.scan_qr(float(params["timeout"]))}
        if name == "doccam.capture":
            pdf = await calls.capture_pages(params["pages"])
            return {"pdf": base64.b64encode(pdf).decode("ascii")}
        if name == "speech.say":
            await calls.say(params["text"])
            return {}
        raise UnknownMethodError("no such method")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
