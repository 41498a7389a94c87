"""Scanner drivers: supervised services from a port to :class:`CodeScanned` events.

``SerialScanner`` reads terminated lines through :func:`~govkiosk.devices.link.open_link`;
``EvdevScanner`` grabs a keyboard-wedge scanner's ``/dev/input/event*`` node and reads it
with the fd on the event loop. Both publish the code only as a session-only event and
log at most its length.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from typing import Any, Callable, Optional, Type

from ...bus import EventBus
from ...supervisor import Service
from ..lines import LineFramer, LineTooLong
from ..link import open_link
from ..spec import DeviceSpec
from .errors import ScannerError, UndecodableScanError
from .events import CodeScanned, ScanFailed
from .inputdev import open_grabbed
from .keyboard import KeyDecoder, Outcome, Rejected, Scanned
from .keymaps import LAYOUTS
from .settings import QrScannerSettings
from .text import decode_code

_LOGGER = logging.getLogger(__name__)


class _ScannerService(Service):
    def __init__(
        self, spec: DeviceSpec, bus: EventBus, settings: Callable[[], QrScannerSettings]
    ) -> None:
        self.name = spec.id
        self.port = spec.port
        self._section = settings
        self.settings = settings()
        self._bus = bus
        self._lost: Optional[asyncio.Future[None]] = None

    async def serve(self) -> None:
        assert self._lost is not None, "serve() before start()"
        await self._lost
        raise ScannerError(f"{self.name}: the device went away")

    def _new_lost(self) -> None:
        self._lost = asyncio.get_running_loop().create_future()

    def _mark_lost(self) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _publish(self, outcome: Outcome) -> None:
        if isinstance(outcome, Scanned):
            _LOGGER.debug("%s: scanned a code of %d characters", self.name, len(outcome.text))
            self._bus.publish(CodeScanned(self.name, outcome.text))
        else:
            _LOGGER.info("%s: scan rejected: %s", self.name, outcome.reason)
            self._bus.publish(ScanFailed(self.name, outcome.reason))


class _LineLink(asyncio.Protocol):
    def __init__(self, scanner: SerialScanner) -> None:
        self._scanner = scanner

    def data_received(self, data: bytes) -> None:
        self._scanner.received(data)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._scanner.link_lost()


class SerialScanner(_ScannerService):
    """A scanner on a serial port (or USB CDC-ACM, or ``socket://``) sending lines."""

    def __init__(
        self, spec: DeviceSpec, bus: EventBus, settings: Callable[[], QrScannerSettings]
    ) -> None:
        super().__init__(spec, bus, settings)
        self._transport: Optional[asyncio.BaseTransport] = None
        self._framer = LineFramer(self.settings.terminator, self.settings.max_length)

    async def start(self) -> None:
        self.settings = self._section()
        self._new_lost()
        self._framer = LineFramer(self.settings.terminator, self.settings.max_length)
        self._transport, _ = await open_link(
            self.port, lambda: _LineLink(self), baudrate=self.settings.baudrate
        )

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def received(self, data: bytes) -> None:
        for line in self._framer.feed(data):
            if isinstance(line, LineTooLong):
                self._publish(Rejected(f"longer than {self.settings.max_length} bytes"))
                continue
            try:
                self._publish(Scanned(decode_code(line)))
            except UndecodableScanError as err:
                self._publish(Rejected(str(err)))

    def link_lost(self) -> None:
        self._mark_lost()


class EvdevScanner(_ScannerService):
    """A USB keyboard-wedge scanner, grabbed so its keys never reach the UI."""

    def __init__(
        self, spec: DeviceSpec, bus: EventBus, settings: Callable[[], QrScannerSettings]
    ) -> None:
        super().__init__(spec, bus, settings)
        self._device: Any = None
        self._decoder = KeyDecoder(LAYOUTS[self.settings.layout], self.settings.max_length)
        self._timer: Optional[asyncio.TimerHandle] = None

    async def start(self) -> None:
        self.settings = self._section()
        self._new_lost()
        self._decoder = KeyDecoder(LAYOUTS[self.settings.layout], self.settings.max_length)
        loop = asyncio.get_running_loop()
        self._device = await loop.run_in_executor(
            None, open_grabbed, self.port, self.settings.keep_keyboards
        )
        loop.add_reader(self._device.fd, self._read)
        _LOGGER.info("%s: grabbed %s", self.name, self._device.name)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        device, self._device = self._device, None
        if device is not None:
            asyncio.get_running_loop().remove_reader(device.fd)
            with contextlib.suppress(OSError):  # unplugged: the grab went with it
                device.ungrab()
            device.close()

    def _read(self) -> None:
        try:
            events = list(self._device.read())
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno != errno.ENODEV:
                _LOGGER.warning("%s: read failed: %s", self.name, err)
            asyncio.get_running_loop().remove_reader(self._device.fd)
            self._mark_lost()
            return
        for event in events:
            outcome = self._decoder.feed_event(event)
            if outcome is not None:
                self._publish(outcome)
        self._arm_timeout()

    def _arm_timeout(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._decoder.pending:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.settings.scan_timeout, self._expire)

    def _expire(self) -> None:
        self._timer = None
        outcome = self._decoder.expire()
        if outcome is not None:
            self._publish(outcome)


def scanner_for(spec: DeviceSpec) -> Type[_ScannerService]:
    """A keyboard wedge under ``/dev/input/``; anything else sends lines."""
    return EvdevScanner if spec.port.startswith("/dev/input/") else SerialScanner
