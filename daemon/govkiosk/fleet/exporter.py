"""``govkioskctl fleet serve``: the fleet's numbers for Prometheus.

One read-only MQTT connection (a watcher's client certificate, TLS, a persistent session)
follows every kiosk's ``state``, ``telemetry`` and ``evt/+`` into :class:`~.metrics.FleetMetrics`;
a small HTTP server answers ``GET /metrics`` (text exposition 0.0.4) and ``GET /healthz``
(200 while subscribed to the broker, 503 otherwise). The broker going away is a state, not
an error: the service reconnects with capped exponential backoff and keeps serving what
it knows (``govkiosk_fleet_exporter_broker_connected`` says it is not live).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Set, Tuple

import aiomqtt

from ..ops.link import NO_DELAY, end_attempt
from ..ops.signing import common_name, load_certificate
from ..timeouts import wait_for
from .client import FleetError
from .exposition import CONTENT_TYPE, render
from .metrics import FleetMetrics
from .settings import FleetServeSettings

_LOGGER = logging.getLogger(__name__)

TOPICS = ("kiosk/v1/+/state", "kiosk/v1/+/telemetry", "kiosk/v1/+/evt/+")
#: Bytes of an HTTP request head read at most, and how long a client may take to send it.
HEAD_MAX = 8192
HEAD_TIMEOUT = 5.0
#: Scrapes answered at once; more wait (Prometheus scrapes one at a time per target).
CONCURRENT_SCRAPES = 4


class HttpRequestError(ValueError):
    """A request head that is not HTTP/1.x."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str


def parse_request(head: bytes) -> Request:
    """The method and path (query dropped) of an HTTP/1.x request head (up to the blank line)."""
    line, _, _rest = head.partition(b"\r\n")
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise HttpRequestError("request line is not ASCII") from None
    parts = text.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpRequestError("not an HTTP/1.x request line")
    method, target, _version = parts
    if not method.isalpha() or not method.isupper():
        raise HttpRequestError("bad method")
    if not target.startswith("/"):
        raise HttpRequestError("bad target")
    return Request(method, target.split("?", 1)[0])


def _response(status: str, body: bytes, content_type: str, head_only: bool = False) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")
    return head if head_only else head + body


def tls_context(settings: FleetServeSettings) -> ssl.SSLContext:
    broker = settings.broker
    try:
        context = ssl.create_default_context(cafile=broker.ca)
        context.load_cert_chain(broker.cert, broker.key)
    except (OSError, ssl.SSLError) as err:
        raise FleetError(f"TLS files: {err}") from err
    return context


class Exporter:
    """``await exporter.start()`` then ``await exporter.run()`` (until cancelled)."""

    def __init__(
        self,
        settings: FleetServeSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.metrics = FleetMetrics(settings)
        self._clock = clock
        self._server: Optional[asyncio.AbstractServer] = None
        self._scrapes = asyncio.Semaphore(CONCURRENT_SCRAPES)
        self._tasks: Set[asyncio.Task[Any]] = set()
        self.connected = asyncio.Event()  #: set while subscribed (tests wait on it)
        self.address: Tuple[str, int] = ("", 0)
        broker = settings.broker
        self._tls = tls_context(settings)  # first: it names a missing or unreadable file
        self._client_id = broker.client_id or common_name(load_certificate(Path(broker.cert)))

    async def start(self) -> Tuple[str, int]:
        """Listen for scrapes; the bound address (port 0 in the settings: a free one)."""
        http = self.settings.http
        try:
            self._server = await asyncio.start_server(
                self._serve, http.listen, http.port, limit=HEAD_MAX
            )
        except OSError as err:
            raise FleetError(f"cannot listen on {http.listen}:{http.port}: {err}") from err
        sockname = self._server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        _LOGGER.info("fleet metrics: serving http://%s:%d/metrics", *self.address)
        return self.address

    async def run(self) -> None:
        """Follow the broker and sample the online ratio until cancelled."""
        self._spawn(self._sampler())
        try:
            await self._follow()
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)
            await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sampler(self) -> None:
        while True:
            self.metrics.sample(self._clock())
            await asyncio.sleep(self.settings.model.uptime_sample)

    async def _follow(self) -> None:
        broker = self.settings.broker
        delay = broker.reconnect_initial
        failures = 0
        while True:
            client = aiomqtt.Client(
                broker.host,
                broker.port,
                identifier=self._client_id,
                clean_session=False,  # alarms sent while we restart still arrive
                keepalive=broker.keepalive,
                tls_context=self._tls,
                timeout=10,
                socket_options=NO_DELAY,
            )
            try:
                async with client:
                    for name in TOPICS:
                        await client.subscribe(name, qos=1)
                    self._up(True)
                    failures = 0
                    delay = broker.reconnect_initial
                    async for message in client.messages:
                        payload = message.payload
                        self.metrics.handle(
                            message.topic.value,
                            payload if isinstance(payload, bytes) else b"",
                            self._clock(),
                        )
            except aiomqtt.MqttError as err:
                failures += 1
                log = _LOGGER.warning if failures == 1 else _LOGGER.debug
                log("fleet metrics: broker %s:%d: %s", broker.host, broker.port, err)
            finally:
                end_attempt(client)
                self._up(False)
            await asyncio.sleep(delay)
            delay = min(delay * 2, broker.reconnect_max)

    def _up(self, connected: bool) -> None:
        self.metrics.broker_connected = connected
        if connected:
            self.connected.set()
        else:
            self.connected.clear()

    def scrape(self) -> bytes:
        started = time.perf_counter()
        body = render(self.metrics.families(self._clock()))
        self.metrics.last_render_seconds = time.perf_counter() - started
        return body

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
                request = parse_request(head)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, HttpRequestError):
                writer.write(_response("400 Bad Request", b"bad request\n", "text/plain"))
                return
            except asyncio.TimeoutError:
                return
            writer.write(await self._answer(request))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, request: Request) -> bytes:
        head_only = request.method == "HEAD"
        if request.method not in ("GET", "HEAD"):
            return _response("405 Method Not Allowed", b"GET only\n", "text/plain")
        if request.path == "/metrics":
            async with self._scrapes:
                return _response("200 OK", self.scrape(), CONTENT_TYPE, head_only)
        if request.path == "/healthz":
            if self.metrics.broker_connected:
                return _response("200 OK", b"ok\n", "text/plain", head_only)
            return _response("503 Service Unavailable", b"broker not connected\n", "text/plain")
        return _response("404 Not Found", b"/metrics or /healthz\n", "text/plain", head_only)
