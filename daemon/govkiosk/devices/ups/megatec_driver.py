"""Driving a Megatec/Q1 UPS over a serial port, a pty or ``socket://``.

Polls ``Q1`` every ``poll_interval`` seconds. Echoes and noise are skipped by the
protocol module; a reply that does not parse, or none at all, counts as a miss, and
after ``silence_limit`` misses in a row the last reading is published as stale (the
UPS may be unplugged or hung while the port stays open). A closed port fails the
service, and the supervisor reopens it with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional, Set

from ...bus import EventBus
from ...timeouts import wait_for
from ..lines import LineFramer
from ..link import open_link
from ..spec import DeviceSpec
from .base import UpsDriver
from .errors import UpsLinkError, UpsProtocolError, UpsTimeoutError
from .megatec import (
    CANCEL_TEST,
    IDENTITY,
    MAX_LINE,
    QUERY,
    SELF_TEST,
    BatteryModel,
    parse_identity,
    parse_q1,
    reply_in,
    to_state,
)
from .selftest import Outcome, SelfTestResult, megatec_outcome
from .settings import UpsSettings
from .state import UpsSelfTestRequested

_LOGGER = logging.getLogger(__name__)

BAUDRATE = 2400
#: Replies kept while nobody asks; older ones are stale anyway.
MAX_QUEUED = 8
_LOST = b""  #: queued when the port closes, to wake a waiting request at once
#: Seconds after ``T`` for Q1 to show the test running before the UPS counts as ignoring it.
START_WAIT = 5.0


class MegatecWire(asyncio.Protocol):
    """Buffers the byte stream into replies; never parses them."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.WriteTransport] = None
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()
        self.lost = False
        self._framer = LineFramer("any", MAX_LINE)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for line in self._framer.feed(data):
            reply = reply_in(line) if isinstance(line, bytes) else None
            if reply is None:
                _LOGGER.debug("skipped an echo or noise: %r", line)
                continue
            if self.replies.qsize() >= MAX_QUEUED:
                self.replies.get_nowait()
            self.replies.put_nowait(reply)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.lost = True
        self.replies.put_nowait(_LOST)


def _battery(settings: UpsSettings) -> BatteryModel:
    return BatteryModel(
        settings.battery_voltage_low, settings.battery_voltage_high, settings.full_load_runtime
    )


class MegatecDriver(UpsDriver):
    can_self_test = True

    def __init__(
        self,
        spec: DeviceSpec,
        bus: EventBus,
        settings: Callable[[], UpsSettings],
        *,
        silence_limit: int = 3,
    ) -> None:
        super().__init__(spec.id, bus)
        self._port = spec.port
        self._section = settings
        self._settings = settings()
        self._battery = _battery(self._settings)
        self._silence_limit = silence_limit
        self._wire: Optional[MegatecWire] = None
        self._lock = asyncio.Lock()
        self._tasks: Set[asyncio.Task[None]] = set()
        self._unsubscribe: Optional[Callable[[], None]] = None
        self._misses = 0

    async def start(self) -> None:
        self._settings = self._section()
        self._battery = _battery(self._settings)
        _transport, wire = await open_link(
            self._port, MegatecWire, baudrate=BAUDRATE, timeout=self._settings.timeout
        )
        self._wire = wire
        self._misses = 0
        self._unsubscribe = self._bus.subscribe(UpsSelfTestRequested, self._on_self_test)
        self.listen_for_self_tests()
        try:
            identity = parse_identity(await self._ask(IDENTITY, b"#"))
            _LOGGER.info("%s: %s %s (firmware %s)", self.name, *vars(identity).values())
        except (UpsTimeoutError, UpsProtocolError) as err:
            _LOGGER.info("%s: no identity (%s); polling Q1 anyway", self.name, err)

    async def serve(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self._settings.poll_interval)

    async def stop(self) -> None:
        await super().stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()
        if self._wire is not None and self._wire.transport is not None:
            self._wire.transport.close()
        self._wire = None

    async def poll(self) -> None:
        """One ``Q1`` round trip; a miss is counted, a closed port raises."""
        try:
            status = parse_q1(await self._ask(QUERY, b"("))
        except (UpsTimeoutError, UpsProtocolError) as err:
            self._misses += 1
            log = _LOGGER.warning if self._misses == self._silence_limit else _LOGGER.debug
            log("%s: no valid Q1 reply (%d in a row): %s", self.name, self._misses, err)
            if self._misses >= self._silence_limit:
                self.mark_stale()
            return
        self._misses = 0
        self.publish(to_state(status, self._battery, self._port))

    async def self_test(self, *, cancel: bool = False) -> None:
        """``T`` (a 10-second battery test) or ``CT`` (cancel it); the UPS does not reply."""
        async with self._lock:
            self._write(CANCEL_TEST if cancel else SELF_TEST)
        _LOGGER.info("%s: self-test %s", self.name, "cancelled" if cancel else "started")

    async def run_self_test(self) -> SelfTestResult:
        """``T``, then Q1 until the test bit (b2) has come and gone; the outcome from the
        bits after it (:func:`~.selftest.megatec_outcome`)."""
        settings = self._section()
        loop = asyncio.get_running_loop()
        await self.self_test()
        started = loop.time()
        deadline = started + settings.self_test_timeout
        seen = False
        while loop.time() < deadline:
            await asyncio.sleep(settings.self_test_poll)
            try:
                status = parse_q1(await self._ask(QUERY, b"("))
            except (UpsTimeoutError, UpsProtocolError):
                continue  # the next poll may answer; the deadline bounds it
            if status.test_running:
                seen = True
            elif seen:
                return megatec_outcome(status)
            elif loop.time() - started > START_WAIT:
                return SelfTestResult(
                    Outcome.UNKNOWN,
                    f"the UPS did not report a test running (Q1 bit 2) within {START_WAIT:g} s",
                )
        return SelfTestResult(
            Outcome.UNKNOWN,
            f"the test still ran after {settings.self_test_timeout:g} s (Q1 bit 2 set)",
        )

    def _on_self_test(self, event: UpsSelfTestRequested) -> None:
        if event.device_id != self.name or self._wire is None:
            return
        task = asyncio.ensure_future(self._self_test_quietly(event.cancel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _self_test_quietly(self, cancel: bool) -> None:
        try:
            await self.self_test(cancel=cancel)
        except UpsLinkError as err:
            _LOGGER.warning("%s: self-test not sent: %s", self.name, err)

    async def _ask(self, request: bytes, marker: bytes) -> bytes:
        """Send ``request``; return the first reply starting with ``marker``."""
        async with self._lock:
            wire = self._wire
            while wire is not None and not wire.replies.empty():  # answers to nobody, from before
                wire.replies.get_nowait()
            wire = self._write(request)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._settings.timeout
            while True:
                remaining = deadline - loop.time()
                try:
                    reply = await wait_for(wire.replies.get(), max(0.0, remaining))
                except asyncio.TimeoutError:
                    raise UpsTimeoutError(
                        f"{self.name}: no reply to {request.strip()!r} within "
                        f"{self._settings.timeout:g} s"
                    ) from None
                if reply == _LOST or wire.lost:
                    raise UpsLinkError(f"{self.name}: port closed")
                if reply.startswith(marker):
                    return reply

    def _write(self, data: bytes) -> MegatecWire:
        wire = self._wire
        if wire is None or wire.lost or wire.transport is None:
            raise UpsLinkError(f"{self.name}: port not open")
        wire.transport.write(data)
        return wire
