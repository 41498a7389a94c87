"""Reading a UPS through NUT's ``upsd``: an asyncio client and the driver around it.

The connection is a plain request/reply line protocol; one request at a time, each
bounded by a timeout. A timeout leaves the stream out of step, so the connection is
dropped and the supervisor reconnects with backoff (the driver's restart is the
reconnect). ``ERR DATA-STALE`` is not a failure: the reading is marked stale and
polling goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Callable, Dict, List, Optional

from ...bus import EventBus
from ...timeouts import wait_for
from ..spec import DeviceSpec
from .base import UpsDriver
from .errors import NutStaleError, UpsLinkError, UpsProtocolError, UpsTimeoutError
from .nut import (
    ListQuery,
    command,
    parse_address,
    parse_get_var,
    parse_list,
    parse_reply,
    split_line,
    state_from_vars,
    vars_from_items,
)
from .settings import UpsSettings

_LOGGER = logging.getLogger(__name__)

#: A list reply longer than this is not from a UPS.
MAX_LIST_LINES = 4096


class NutClient:
    """One connection to upsd."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float, name: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        self._name = name
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float) -> NutClient:
        name = f"{host}:{port}"
        try:
            reader, writer = await wait_for(asyncio.open_connection(host, port), timeout)
        except asyncio.TimeoutError as err:
            raise UpsTimeoutError(f"upsd {name}: no connection within {timeout:g} s") from err
        except OSError as err:
            raise UpsLinkError(f"upsd {name}: cannot connect: {err}") from err
        return cls(reader, writer, timeout, name)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError):  # the peer may be gone already
            await wait_for(self._writer.wait_closed(), self._timeout)

    async def request(self, line: bytes) -> List[str]:
        """Send one command; return the reply's words or raise its typed error."""
        async with self._lock:
            await self._send(line)
            return parse_reply(await self._line())

    async def request_list(self, query: ListQuery) -> List[List[str]]:
        async with self._lock:
            await self._send(query.request)
            lines = [await self._line()]
            parse_reply(lines[0])  # an ERR instead of BEGIN LIST ends it here
            while not query.is_end(split_line(lines[-1])):
                if len(lines) > MAX_LIST_LINES:
                    raise UpsProtocolError(f"upsd {self._name}: list reply without end")
                lines.append(await self._line())
            return parse_list(query, lines)

    async def list_ups(self) -> Dict[str, str]:
        items = await self.request_list(ListQuery(("UPS",)))
        return {item[0]: item[1] if len(item) > 1 else "" for item in items}

    async def list_var(self, ups: str) -> Dict[str, str]:
        return vars_from_items(await self.request_list(ListQuery(("VAR", ups))))

    async def get_var(self, ups: str, var: str) -> str:
        return parse_get_var(await self.request(command("GET", "VAR", ups, var)), ups, var)

    async def login(self, ups: str, user: str, password: Optional[str]) -> None:
        """Identify as a monitoring client, as upsmon does (needs ``upsmon`` in upsd.users)."""
        await self.request(command("USERNAME", user))
        if password is not None:
            await self.request(command("PASSWORD", password))
        await self.request(command("LOGIN", ups))

    async def _send(self, line: bytes) -> None:
        try:
            self._writer.write(line)
            await wait_for(self._writer.drain(), self._timeout)
        except asyncio.TimeoutError as err:
            raise UpsTimeoutError(f"upsd {self._name}: write timed out") from err
        except OSError as err:
            raise UpsLinkError(f"upsd {self._name}: connection lost: {err}") from err

    async def _line(self) -> str:
        try:
            raw = await wait_for(self._reader.readline(), self._timeout)
        except asyncio.TimeoutError as err:
            raise UpsTimeoutError(
                f"upsd {self._name}: no reply within {self._timeout:g} s"
            ) from err
        except ValueError as err:  # a line beyond the stream's limit
            raise UpsProtocolError(f"upsd {self._name}: reply line too long") from err
        except OSError as err:
            raise UpsLinkError(f"upsd {self._name}: connection lost: {err}") from err
        if not raw.endswith(b"\n"):
            raise UpsLinkError(f"upsd {self._name}: connection closed")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def read_password(path: str) -> str:
    """The first line of ``path`` (``[ups] password_file``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as err:
        raise UpsLinkError(f"[ups] password_file {path}: cannot be read") from err


class NutDriver(UpsDriver):
    """Polls one UPS on upsd every ``poll_interval`` seconds."""

    def __init__(
        self, spec: DeviceSpec, bus: EventBus, settings: Callable[[], UpsSettings]
    ) -> None:
        address = parse_address(spec.port)
        super().__init__(f"ups@{address.source}", bus)
        self._address = address
        self._section = settings
        self._settings = settings()
        self._client: Optional[NutClient] = None

    async def start(self) -> None:
        self._settings = self._section()
        address, settings = self._address, self._settings
        client = await NutClient.connect(address.host, address.port, settings.timeout)
        self._client = client
        # The keys win over the deprecated nut://user:pass@ form.
        user = settings.user or address.user
        if user is not None:
            password = settings.password or address.password
            if settings.password_file is not None:
                password = await asyncio.get_running_loop().run_in_executor(
                    None, read_password, settings.password_file
                )
            await client.login(address.ups, user, password)
        await self._poll(client)
        _LOGGER.info("%s: monitoring", self.name)

    async def serve(self) -> None:
        client = self._client
        assert client is not None
        while True:
            await asyncio.sleep(self._settings.poll_interval)
            await self._poll(client)

    async def stop(self) -> None:
        await super().stop()
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def _poll(self, client: NutClient) -> None:
        try:
            variables = await client.list_var(self._address.ups)
        except NutStaleError as err:
            _LOGGER.debug("%s: %s", self.name, err)
            self.mark_stale()
            return
        state = state_from_vars(variables, self._address.source)
        if state.stale and self.last is not None:
            self.mark_stale()  # keep the last known flags rather than "WAIT"
            return
        self.publish(state)
