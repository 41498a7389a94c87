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
from typing import Callable, Dict, List, Optional, Tuple

from ...bus import EventBus
from ...timeouts import wait_for
from ..spec import DeviceSpec
from .base import UpsDriver
from .errors import (
    NutAccessError,
    NutStaleError,
    NutUnsupportedError,
    UpsLinkError,
    UpsProtocolError,
    UpsSelfTestUnsupportedError,
    UpsTimeoutError,
)
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
from .selftest import QUICK_TEST, TEST_RESULT, Outcome, SelfTestResult, nut_outcome
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
        await self.authenticate(user, password)
        await self.request(command("LOGIN", ups))

    async def authenticate(self, user: str, password: Optional[str]) -> None:
        """``USERNAME`` and ``PASSWORD``: what upsd checks an instant command against."""
        await self.request(command("USERNAME", user))
        if password is not None:
            await self.request(command("PASSWORD", password))

    async def instcmd(self, ups: str, name: str) -> None:
        """Run an instant command (needs ``instcmds`` for it in upsd.users)."""
        await self.request(command("INSTCMD", ups, name))

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


async def _test_result(client: NutClient, ups: str) -> Optional[str]:
    """``ups.test.result``; None when the UPS does not report it."""
    try:
        return await client.get_var(ups, TEST_RESULT)
    except NutUnsupportedError:
        return None


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
        # An instant command needs an account; without one upsd refuses it.
        self.can_self_test = (self._settings.user or address.user) is not None

    async def _account(self) -> Tuple[Optional[str], Optional[str]]:
        """(user, password) to log in with; the keys win over the deprecated
        nut://user:pass@ form."""
        address, settings = self._address, self._settings
        user = settings.user or address.user
        if user is None:
            return None, None
        password = settings.password or address.password
        if settings.password_file is not None:
            password = await asyncio.get_running_loop().run_in_executor(
                None, read_password, settings.password_file
            )
        return user, password

    async def start(self) -> None:
        self._settings = self._section()
        address, settings = self._address, self._settings
        client = await NutClient.connect(address.host, address.port, settings.timeout)
        self._client = client
        user, password = await self._account()
        if user is not None:
            await client.login(address.ups, user, password)
        await self._poll(client)
        self.listen_for_self_tests()
        _LOGGER.info("%s: monitoring", self.name)

    async def run_self_test(self) -> SelfTestResult:
        """``INSTCMD <ups> test.battery.start.quick`` on a connection of its own (the
        polling goes on), then ``ups.test.result`` until it reports an outcome, for at
        most ``[ups] self_test_timeout`` seconds."""
        address, settings = self._address, self._section()
        user, password = await self._account()
        if user is None:
            raise UpsSelfTestUnsupportedError(
                f"{self.name}: a self-test needs a NUT account with instcmds"
                " ([ups] user and password_file)"
            )
        client = await NutClient.connect(address.host, address.port, settings.timeout)
        try:
            await client.authenticate(user, password)
            before = await _test_result(client, address.ups)
            try:
                await client.instcmd(address.ups, QUICK_TEST)
            except NutUnsupportedError as err:
                return SelfTestResult(
                    Outcome.ERROR,
                    f"the UPS's NUT driver does not offer {QUICK_TEST} ({err}): test the"
                    " battery from the UPS's panel",
                )
            except NutAccessError as err:
                return SelfTestResult(
                    Outcome.ERROR,
                    f"the NUT account {user} may not run {QUICK_TEST} ({err}): add"
                    f" 'instcmds = {QUICK_TEST}' to its upsd.users entry",
                )
            _LOGGER.info("%s: %s sent", self.name, QUICK_TEST)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + settings.self_test_timeout
            seen_running = False
            text = before
            while loop.time() < deadline:
                await asyncio.sleep(settings.self_test_poll)
                text = await _test_result(client, address.ups)
                if text is None:
                    return SelfTestResult(
                        Outcome.UNKNOWN,
                        f"the UPS accepted {QUICK_TEST} but does not report {TEST_RESULT}",
                    )
                outcome = nut_outcome(text)
                seen_running = seen_running or (outcome is None and text != before)
                if outcome is not None and (text != before or seen_running):
                    return SelfTestResult(outcome, text)
            return SelfTestResult(
                Outcome.UNKNOWN,
                f"no outcome within {settings.self_test_timeout:g} s; {TEST_RESULT} is {text!r}",
            )
        finally:
            await client.close()

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
