"""A small client of the Chrome DevTools protocol over ``--remote-debugging-pipe``.

The browser reads commands from its file descriptor 3 and writes replies and events to
its descriptor 4, each message one JSON object ended by a NUL byte. A pipe, unlike
``--remote-debugging-port``, is reachable only by the process that started the browser:
no other local user or process can attach to the kiosk browser and read the page (or the
bridge token in its URL).

Framing (:class:`NulFramer`) and message parsing (:func:`parse_message`) are pure;
:class:`DevTools` owns the pipe ends on the event loop. Sessions are "flat": a command
for one page carries that page's ``sessionId``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..timeouts import wait_for
from .errors import DevToolsError

_LOGGER = logging.getLogger(__name__)

#: A reply larger than this is refused (a full-page screenshot of a kiosk screen is far smaller).
MAX_MESSAGE = 64 * 1024 * 1024
COMMAND_TIMEOUT = 10.0

Params = Dict[str, Any]
Handler = Callable[[Params, Optional[str]], None]


@dataclass(frozen=True)
class Message:
    """One message from the browser: a reply (``id``) or an event (``method``)."""

    id: Optional[int] = None
    method: str = ""
    params: Params = field(default_factory=dict)
    result: Params = field(default_factory=dict)
    error: Optional[str] = None
    session_id: Optional[str] = None


def parse_message(data: bytes) -> Message:
    """One NUL-free JSON message into a :class:`Message`; :class:`DevToolsError` if malformed."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DevToolsError("unreadable DevTools message") from exc
    if not isinstance(value, dict):
        raise DevToolsError("DevTools message is not an object")
    session = value.get("sessionId")
    if session is not None and not isinstance(session, str):
        raise DevToolsError("DevTools sessionId is not a string")
    if "id" in value:
        ident = value["id"]
        if not isinstance(ident, int) or isinstance(ident, bool):
            raise DevToolsError("DevTools reply id is not an integer")
        error = value.get("error")
        if error is not None:
            text = error.get("message") if isinstance(error, dict) else None
            return Message(id=ident, error=str(text or error), session_id=session)
        result = value.get("result", {})
        if not isinstance(result, dict):
            raise DevToolsError("DevTools reply result is not an object")
        return Message(id=ident, result=result, session_id=session)
    method = value.get("method")
    if not isinstance(method, str) or not method:
        raise DevToolsError("DevTools message has neither id nor method")
    params = value.get("params", {})
    if not isinstance(params, dict):
        raise DevToolsError("DevTools event params is not an object")
    return Message(method=method, params=params, session_id=session)


def encode_command(ident: int, method: str, params: Params, session_id: Optional[str]) -> bytes:
    """One command, NUL-terminated."""
    message: Dict[str, Any] = {"id": ident, "method": method, "params": params}
    if session_id is not None:
        message["sessionId"] = session_id
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode() + b"\0"


class NulFramer:
    """Splits a byte stream into NUL-terminated messages, each at most ``limit`` bytes."""

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self._limit = limit
        self._buffer = bytearray()

    def feed(self, data: bytes) -> List[bytes]:
        self._buffer.extend(data)
        messages: List[bytes] = []
        while True:
            end = self._buffer.find(b"\0")
            if end < 0:
                break
            messages.append(bytes(self._buffer[:end]))
            del self._buffer[: end + 1]
        if len(self._buffer) > self._limit:
            self._buffer.clear()
            raise DevToolsError(f"DevTools message longer than {self._limit} bytes")
        return messages


class _Reader(asyncio.Protocol):
    def __init__(self, owner: DevTools) -> None:
        self._owner = owner

    def data_received(self, data: bytes) -> None:
        self._owner._received(data)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._owner._lost()


class DevTools:
    """Commands to, replies and events from one browser over its pipe ends."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: Dict[int, asyncio.Future[Params]] = {}
        self._handlers: Dict[str, List[Handler]] = {}
        self._framer = NulFramer()
        self._writer: Optional[asyncio.WriteTransport] = None
        self._reader: Optional[asyncio.BaseTransport] = None
        #: Set when the browser's end of the pipe closed (it exited or crashed).
        self.closed = asyncio.Event()

    async def open(self, read_fd: int, write_fd: int) -> None:
        """Take over ``read_fd`` (the browser's replies) and ``write_fd`` (our commands)."""
        loop = asyncio.get_running_loop()
        reader = os.fdopen(read_fd, "rb", buffering=0)
        writer = os.fdopen(write_fd, "wb", buffering=0)
        self._reader, _ = await loop.connect_read_pipe(lambda: _Reader(self), reader)
        transport, _ = await loop.connect_write_pipe(asyncio.Protocol, writer)
        self._writer = transport

    def on(self, method: str, handler: Handler) -> None:
        """Call ``handler(params, session_id)`` for every ``method`` event."""
        self._handlers.setdefault(method, []).append(handler)

    async def send(
        self,
        method: str,
        params: Optional[Params] = None,
        session_id: Optional[str] = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Params:
        """Send one command and wait for its result; :class:`DevToolsError` on failure."""
        if self._writer is None or self._writer.is_closing() or self.closed.is_set():
            raise DevToolsError(f"{method}: the browser's DevTools pipe is closed")
        ident = next(self._ids)
        future: asyncio.Future[Params] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self._writer.write(encode_command(ident, method, params or {}, session_id))
            return await wait_for(future, timeout)
        except asyncio.TimeoutError as exc:
            raise DevToolsError(f"{method}: no reply from the browser in {timeout:g} s") from exc
        finally:
            self._pending.pop(ident, None)

    def post(
        self, method: str, params: Optional[Params] = None, session_id: Optional[str] = None
    ) -> None:
        """Send a command whose reply nobody waits for (from an event handler)."""
        if self._writer is None or self._writer.is_closing() or self.closed.is_set():
            return
        self._writer.write(encode_command(next(self._ids), method, params or {}, session_id))

    def close(self) -> None:
        for transport in (self._writer, self._reader):
            if transport is not None:
                transport.close()
        self._lost()

    def _received(self, data: bytes) -> None:
        try:
            raw = self._framer.feed(data)
        except DevToolsError as exc:
            _LOGGER.warning("browser: %s; closing the DevTools pipe", exc)
            self.close()
            return
        for chunk in raw:
            try:
                message = parse_message(chunk)
            except DevToolsError as exc:
                _LOGGER.warning("browser: %s", exc)
                continue
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        if message.id is not None:
            future = self._pending.get(message.id)
            if future is None or future.done():
                return
            if message.error is not None:
                future.set_exception(DevToolsError(message.error))
            else:
                future.set_result(message.result)
            return
        for handler in self._handlers.get(message.method, ()):
            try:
                handler(message.params, message.session_id)
            except Exception:  # a handler's bug must not stop the pipe
                _LOGGER.exception("browser: handler of %s failed", message.method)

    def _lost(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DevToolsError("the browser's DevTools pipe closed"))


def pipe_pairs() -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """``(commands_read, commands_write), (replies_read, replies_write)``, close-on-exec."""
    return os.pipe(), os.pipe()
