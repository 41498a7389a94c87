"""The ID card reader service: poll for cards, read each presentation once.

One exchange at a time (the SAM module answers strictly in turn), each with a
timeout. The poll loop is a small state machine:

1. every ``sam_check_interval``: SAM status. A failure → state ``sam_fault`` and no
   card polling until the SAM is healthy again.
2. find card. SW3 9F: a card nobody has read yet → select → read → ``IdentityRead``.
3. while a read card stays on the reader, find answers 80 on some readers and 9F on
   others; a card counts as removed only when find *and* select fail, so neither
   kind of reader makes the driver read the same card twice.

Stalls, dropped and delayed bytes end in a timeout or a rejected frame; the driver
reports ``not_responding`` and simply tries again on the next poll. A closed port
(``link_lost``) ends :meth:`serve`, and the supervisor reopens it with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Optional, Tuple

from ...bus import EventBus
from ...supervisor import Service
from ...timeouts import reply
from ..link import LinkError, open_link
from ..spec import DeviceSpec
from .errors import (
    CardTextError,
    ExchangeTimeoutError,
    FrameError,
    LinkLostError,
    NoCardError,
    ReaderStatusError,
    SamFaultError,
    SelectCardError,
)
from .events import (
    CardPresented,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderState,
    ReaderStateChanged,
)
from .protocol import Command, FrameDecoder, Request, Response, identity_from_reply
from .settings import IdCardSettings

_LOGGER = logging.getLogger(__name__)

#: A card whose read fails this often is left alone until it is taken away.
READ_ATTEMPTS = 3

Opener = Callable[..., Awaitable[Tuple[asyncio.BaseTransport, "ReaderLink"]]]


class ReaderLink(asyncio.Protocol):
    """The host end of the wire: sends one request and waits for its reply."""

    def __init__(self, device: str) -> None:
        self._device = device
        self._decoder = FrameDecoder()
        self._transport: Optional[asyncio.Transport] = None
        self._waiting: Optional[Tuple[int, asyncio.Future[Response]]] = None
        self._lost: Optional[LinkLostError] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._lost = LinkLostError(f"{self._device}: the port closed" + (f": {exc}" if exc else ""))
        if self._waiting is not None and not self._waiting[1].done():
            self._waiting[1].set_exception(self._lost)

    def data_received(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                self._reject(item)
                continue
            try:
                response = Response.from_bytes(item)
            except FrameError as err:  # a frame too short to be a reply
                self._reject(err)
                continue
            self._answer(response)

    def _answer(self, response: Response) -> None:
        if self._waiting is None or self._waiting[1].done():
            _LOGGER.debug("%s: reply with nobody waiting, dropped", self._device)
        elif not response.fits(self._waiting[0]):
            _LOGGER.debug("%s: reply of another request, dropped", self._device)
        else:
            self._waiting[1].set_result(response)

    def _reject(self, err: FrameError) -> None:
        # Fail the exchange at once rather than wait for its timeout: the reply it
        # waits for was probably this broken frame.
        _LOGGER.debug("%s: %s", self._device, err)
        if self._waiting is not None and not self._waiting[1].done():
            self._waiting[1].set_exception(err)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def exchange(self, command: Command, timeout: float) -> Response:
        if self._lost is not None:
            raise self._lost
        assert self._transport is not None
        # Whatever is buffered belongs to an exchange that already gave up.
        self._decoder.reset()
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting = (command, future)
        try:
            self._transport.write(Request(command).to_bytes())
            return await reply(future, timeout)
        except asyncio.TimeoutError as err:
            raise ExchangeTimeoutError(
                f"{self._device}: no reply to {command.name} within {timeout:g} s"
            ) from err
        finally:
            self._waiting = None


class IdCardReader(Service):
    """One reader on one port, publishing card and health events on the bus."""

    def __init__(
        self,
        spec: DeviceSpec,
        bus: EventBus,
        settings: Callable[[], IdCardSettings],
        *,
        opener: Opener = open_link,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = spec.id
        self._spec = spec
        self._bus = bus
        self._section = settings
        self._settings = settings()
        self._opener = opener
        self._clock = clock
        self._link: Optional[ReaderLink] = None
        self.state = ReaderState.STARTING
        self._sam_checked_at: Optional[float] = None
        self._card_on_reader = False
        self._card_done = False  # read, or given up on, for this presentation
        self._read_failures = 0

    # --- Service ----------------------------------------------------------------

    async def start(self) -> None:
        self._settings = self._section()
        try:
            _transport, link = await self._opener(
                self._spec.port,
                lambda: ReaderLink(self.name),
                baudrate=self._settings.baudrate,
            )
        except LinkError as err:
            self._set_state(ReaderState.LINK_LOST, str(err))
            raise
        self._link = link
        self._sam_checked_at = None
        _LOGGER.info("%s: port %s open", self.name, self._spec.port)

    async def serve(self) -> None:
        while True:
            try:
                await self.poll()
            except LinkLostError as err:
                self._set_state(ReaderState.LINK_LOST, str(err))
                self._forget_card()
                raise
            await asyncio.sleep(self._settings.poll_interval)

    async def stop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    # --- the state machine ----------------------------------------------------------

    async def poll(self) -> None:
        """One round: SAM status when due, then the card. Recovers from all but link loss."""
        try:
            if self._sam_due():
                await self._check_sam()
            if self.state is ReaderState.SAM_FAULT:
                return
            await self._track_card()
            self._set_state(ReaderState.OK, "")
        except ExchangeTimeoutError as err:
            self._set_state(ReaderState.NOT_RESPONDING, str(err))
        except FrameError as err:
            _LOGGER.debug("%s: garbled reply, trying again: %s", self.name, err)
        except SamFaultError as err:
            self._set_state(ReaderState.SAM_FAULT, str(err))
        except ReaderStatusError as err:
            _LOGGER.warning("%s: %s", self.name, err)

    def _sam_due(self) -> bool:
        last = self._sam_checked_at
        return last is None or self._clock() - last >= self._settings.sam_check_interval

    async def _check_sam(self) -> None:
        response = await self._exchange(Command.SAM_STATUS)
        self._sam_checked_at = self._clock()
        try:
            response.raise_for_status()
        except ReaderStatusError as err:
            self._set_state(ReaderState.SAM_FAULT, str(err))
        else:
            self._set_state(ReaderState.OK, "")

    async def _track_card(self) -> None:
        found = await self._succeeds(Command.FIND_CARD, NoCardError)
        if self._card_on_reader:
            if not found and not await self._succeeds(Command.SELECT_CARD, SelectCardError):
                self._forget_card()
                _LOGGER.info("%s: card removed", self.name)
                self._bus.publish(CardRemoved(self.name))
                return
            if self._card_done:
                return
        elif not found:
            return
        else:
            self._card_on_reader = True
            _LOGGER.info("%s: card presented", self.name)
            self._bus.publish(CardPresented(self.name))
        await self._read_card()

    async def _read_card(self) -> None:
        if not await self._succeeds(Command.SELECT_CARD, SelectCardError):
            return
        response = await self._exchange(Command.READ_TEXT_PHOTO)
        try:
            identity = identity_from_reply(response)
        except ReaderStatusError as err:
            self._read_failures += 1
            if self._read_failures < READ_ATTEMPTS:
                _LOGGER.info("%s: read failed, trying again: %s", self.name, err)
                return
            self._give_up(str(err))
            return
        except CardTextError as err:  # the same card would give the same text again
            self._give_up(str(err))
            return
        self._card_done = True
        _LOGGER.info("%s: card read (%s)", self.name, identity.kind.value)
        self._bus.publish(IdentityRead(self.name, identity))

    def _give_up(self, reason: str) -> None:
        self._card_done = True
        _LOGGER.warning("%s: card not read: %s", self.name, reason)
        self._bus.publish(CardReadFailed(self.name, reason))

    def _forget_card(self) -> None:
        self._card_on_reader = False
        self._card_done = False
        self._read_failures = 0

    async def _succeeds(self, command: Command, expected_failure: type) -> bool:
        """True on success, False on ``expected_failure``; other failures raise."""
        response = await self._exchange(command)
        try:
            response.raise_for_status()
        except ReaderStatusError as err:
            if isinstance(err, expected_failure):
                return False
            raise
        return True

    async def _exchange(self, command: Command) -> Response:
        if self._link is None:
            raise LinkLostError(f"{self.name}: the port is not open")
        _LOGGER.debug("%s: → %s", self.name, command.name)
        response = await self._link.exchange(command, self._settings.exchange_timeout)
        _LOGGER.debug("%s: ← %02X (%d data bytes)", self.name, response.sw3, len(response.data))
        return response

    def _set_state(self, state: ReaderState, detail: str) -> None:
        if state is self.state:
            return
        level = logging.INFO if state is ReaderState.OK else logging.WARNING
        _LOGGER.log(level, "%s: reader %s%s", self.name, state.value, detail and f": {detail}")
        self.state = state
        self._bus.publish(ReaderStateChanged(self.name, state, detail))
