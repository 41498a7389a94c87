"""The presence driver: a supervised service from the sensor's port to arrival events.

It opens the port through :func:`~govkiosk.devices.link.open_link` (so a simulator on
a pty or TCP port stands in for the sensor), turns each reading into present/absent,
debounces it and publishes :class:`PersonArrived` / :class:`PersonLeft`. A sensor that
falls silent for ``silence_timeout`` fails the service, so its health shows it and the
supervisor reopens the port.

An LD2410 reports ten times a second whether anyone is there or not. The port is read
at most every ``read_every`` (half a second by default: five readings a wake-up, and an
arrival noticed at most that much later); each chunk is handled where it arrives, in
the port's callback (decode, debounce, publish a change); the service's task only wakes
for what no reading brings: a pending change that has held long enough, or silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from typing import Callable, List, Optional

from ...bus import EventBus
from ...supervisor import Service
from ...timeouts import reply, wait_for
from ..lines import LineTooLong
from ..link import open_link
from ..spec import DeviceSpec
from . import ld2410
from .debounce import Debouncer
from .errors import PresenceError
from .events import PersonArrived, PersonLeft
from .settings import PresenceSettings
from .tokens import TokenDecoder

_LOGGER = logging.getLogger(__name__)


class _Link(asyncio.Protocol):
    """Hands every chunk to the driver and tells it when the port goes away. Once
    :meth:`batch` is set, the port is read at most that often: what arrived meanwhile
    waits in the kernel's buffer and comes as one chunk."""

    def __init__(self, on_data: Callable[[bytes], None], on_lost: Callable[[], None]) -> None:
        self._on_data = on_data
        self._on_lost = on_lost
        self._transport: Optional[asyncio.Transport] = None
        self._every = 0.0
        self._resume: Optional[asyncio.TimerHandle] = None

    def batch(self, every: float) -> None:
        self._every = every

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._on_data(data)
        if self._every > 0 and self._transport is not None and self._resume is None:
            self._transport.pause_reading()
            loop = asyncio.get_running_loop()
            self._resume = loop.call_later(self._every, self._read_again)

    def _read_again(self) -> None:
        self._resume = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._transport = None
        self._on_lost()


class PresenceDriver(Service):
    def __init__(
        self,
        spec: DeviceSpec,
        bus: EventBus,
        settings: Callable[[], PresenceSettings],
        *,
        command_timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = spec.id
        self.firmware = ""  #: the LD2410's firmware version, read at start
        self._spec = spec
        self._bus = bus
        self._section = settings
        self._settings = settings()
        self._command_timeout = command_timeout
        self._clock = clock
        # Kept across restarts: a reopened port must not announce the same person twice.
        self._debouncer = Debouncer(self._settings.arrive_after, self._settings.leave_after)
        self._transport: Optional[asyncio.BaseTransport] = None
        self._heard_at = self._clock()  #: when the last reading arrived
        self._closed = False  #: the port went away
        self._wake = asyncio.Event()  #: a reading changed what the service waits for
        self._frames = ld2410.Decoder()
        self._tokens = TokenDecoder(self._settings.present_tokens, self._settings.absent_tokens)
        self._ack: Optional[asyncio.Future[ld2410.Ack]] = None

    @property
    def present(self) -> bool:
        return self._debouncer.present

    async def start(self) -> None:
        self._settings = self._section()
        self._closed = False
        self._wake = asyncio.Event()
        self._frames = ld2410.Decoder()
        self._tokens = TokenDecoder(self._settings.present_tokens, self._settings.absent_tokens)
        on_data = self._on_frames if self._settings.kind == "ld2410" else self._on_lines
        self._transport, link = await open_link(
            self._spec.port,
            lambda: _Link(on_data, self._on_lost),
            baudrate=self._settings.baudrate,
        )
        if self._settings.kind == "ld2410":
            self.firmware = await self._read_firmware()
            _LOGGER.info("%s: LD2410 firmware %s", self.name, self.firmware)
        link.batch(self._settings.read_every)  # commands done: readings may wait a little
        self._heard_at = self._clock()

    async def serve(self) -> None:
        silence = self._settings.silence_timeout
        while True:
            if self._closed:
                raise PresenceError(f"{self.name}: the port was closed")
            now = self._clock()
            self._publish(self._debouncer.poll(now))
            if silence and now - self._heard_at >= silence:
                raise PresenceError(f"{self.name}: no reading for {silence:g} s")
            waits: List[float] = [silence - (now - self._heard_at)] if silence else []
            deadline = self._debouncer.deadline()
            if deadline is not None:
                waits.append(deadline - now)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wake.wait(), max(0.0, min(waits, default=3600)))

    def _reading(self, raw: bool) -> None:
        """One reading, as it arrives: debounce it, publish a change, wake the service
        only if what it waits for moved."""
        self._heard_at = self._clock()
        before = self._debouncer.deadline()
        self._publish(self._debouncer.update(raw, self._heard_at))
        if self._debouncer.deadline() != before:
            self._wake.set()

    def _on_lost(self) -> None:
        self._closed = True
        self._wake.set()

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _publish(self, change: Optional[bool]) -> None:
        if change is None:
            return
        _LOGGER.debug("%s: person %s", self.name, "arrived" if change else "left")
        self._bus.publish(PersonArrived(self.name) if change else PersonLeft(self.name))

    def _on_frames(self, data: bytes) -> None:
        for frame in self._frames.feed(data):
            if isinstance(frame, ld2410.Report):
                self._reading(self._near(frame))
            elif isinstance(frame, ld2410.Ack):
                if self._ack is not None and not self._ack.done():
                    self._ack.set_result(frame)
            elif isinstance(frame, ld2410.Malformed):
                _LOGGER.debug("%s: ignored frame: %s", self.name, frame.reason)

    def _near(self, report: ld2410.Report) -> bool:
        nearest = report.nearest_cm()
        limit = self._settings.max_distance_cm
        return nearest is not None and (limit == 0 or nearest <= limit)

    def _on_lines(self, data: bytes) -> None:
        for reading in self._tokens.feed(data):
            if isinstance(reading, bool):
                self._reading(reading)
            elif isinstance(reading, LineTooLong):
                _LOGGER.debug("%s: ignored a %d-byte line", self.name, reading.length)
            else:
                _LOGGER.debug("%s: ignored unknown token %r", self.name, reading.line[:16])

    async def _read_firmware(self) -> str:
        """Enter configuration mode, read the version, leave: proves an LD2410 is there."""
        await self._command(ld2410.CMD_ENABLE_CONFIG, struct.pack("<H", 1))
        try:
            ack = await self._command(ld2410.CMD_READ_FIRMWARE)
        finally:
            await self._command(ld2410.CMD_END_CONFIG)
        try:
            return ld2410.firmware_version(ack)
        except ValueError as err:
            raise PresenceError(f"{self.name}: {err}") from err

    async def _command(self, command: int, value: bytes = b"") -> ld2410.Ack:
        assert isinstance(self._transport, asyncio.WriteTransport)
        self._ack = asyncio.get_running_loop().create_future()
        self._transport.write(ld2410.encode_command(command, value))
        try:
            ack = await reply(self._ack, self._command_timeout)
        except asyncio.TimeoutError:
            raise PresenceError(
                f"{self.name}: no answer to command 0x{command:04x} within "
                f"{self._command_timeout:g} s (is it an LD2410 at {self._settings.baudrate} baud?)"
            ) from None
        finally:
            self._ack = None
        if ack.command != command or not ack.ok:
            raise PresenceError(f"{self.name}: command 0x{command:04x} refused")
        return ack
