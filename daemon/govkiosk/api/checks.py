"""``cn.govkiosk.Checks1``: the device checks an engineer runs at acceptance (§6.4.2).

``PrintTestPage`` prints the A4 test page (:mod:`..printing.testpage`) through the
kiosk's CUPS queue and waits for the job's outcome; ``ReadTestCard`` waits for a card to
be placed on the reader and says only whether it was read whole and its photo decodes
(:mod:`..devices.idcard.cardcheck`) — never a field's value. Both are refused while a
citizen's session is in progress; the D-Bus policy keeps them from the touch UI.
"""

import asyncio
import datetime
import logging
from typing import Callable, Dict, List, Optional

from dbus_next.service import ServiceInterface, method

from ..activity import Activity
from ..bus import AdminAction, EventBus
from ..contract.names import CHECKS_INTERFACE
from ..dbus import guarded
from ..devices.idcard.cardcheck import CardCheck, CardTestWaiting, Decode, judge
from ..devices.idcard.events import CardReadFailed, IdentityRead, ReaderState, ReaderStateChanged
from ..errors import GovkioskError
from ..faceverify.photo import NoDecoder, VendorLibraryDecoder, decoder_for
from ..faceverify.settings import FaceSettings
from ..printing.a4 import A4Job, A4Printed, A4Printer
from ..printing.errors import PrintError
from ..printing.testpage import test_page
from ..runtime import Runtime
from ..session.settings import SessionSettings
from ..timeouts import wait_for
from .session import a4_printer

_LOGGER = logging.getLogger(__name__)

#: The longest an engineer may take to place a card.
MAX_CARD_WAIT = 300.0


class CheckRefusedError(GovkioskError):
    """A device check cannot run now (a citizen is being served, one runs already)."""


class NoCardReaderError(GovkioskError):
    """No ID card reader answers."""


class CardNotReadError(GovkioskError):
    """No card was read in time, or the reader could not read the one placed."""


def _never() -> bool:
    return False


class ChecksInterface(ServiceInterface):
    def __init__(
        self,
        bus: EventBus,
        activity: Activity,
        kiosk_id: str,
        printer: A4Printer,
        *,
        session: Callable[[], SessionSettings],
        face: Callable[[], FaceSettings],
        busy: Callable[[], bool] = _never,
        clock: Callable[[], datetime.datetime] = datetime.datetime.now,
    ) -> None:
        super().__init__(CHECKS_INTERFACE)
        self._bus = bus
        self._activity = activity
        self._kiosk_id = kiosk_id
        self._printer = printer
        self._session = session
        self._face = face
        self.busy = busy
        self._clock = clock
        self._running = asyncio.Lock()
        self._readers: Dict[str, str] = {}
        self._unsubscribe = bus.subscribe(ReaderStateChanged, self._on_reader)

    def close(self) -> None:
        self._unsubscribe()
        self._printer.close()

    def _on_reader(self, event: ReaderStateChanged) -> None:
        self._readers[event.device] = event.state.value

    def _refuse_if_busy(self) -> None:
        if self.busy():
            raise CheckRefusedError("a citizen is being served; try again when the kiosk is idle")
        if self._running.locked():
            raise CheckRefusedError("another device check is running")

    @method()
    @guarded
    async def PrintTestPage(self) -> "(ssss)":
        """Print the A4 test page; (queue, outcome ``printed``/``failed``, the error code
        such as ``printer.paper_out``, the printer's message) once CUPS has finished it."""
        self._refuse_if_busy()
        settings = self._session()
        queue = settings.cups_queue
        async with self._running:
            job = A4Job(
                "govkiosk test page", bytearray(test_page(self._kiosk_id, queue, self._clock()))
            )
            try:
                async with self._activity.busy("print"):
                    await self._printer.print(job, lambda _done: None, settings.print_timeout)
            except PrintError as err:
                # A test page must not come out later, when the paper is back.
                await self._printer.discard(job)
                result = [queue, "failed", err.code, str(err)]
            else:
                self._bus.publish(A4Printed(1))
                result = [queue, "printed", "", ""]
        self._bus.publish(
            AdminAction(
                "maintenance",
                "a4_test_page",
                {"queue": queue, "outcome": result[1], "code": result[2]},
            )
        )
        return result

    @method()
    @guarded
    async def ReadTestCard(self, timeout: "d") -> "(bsss)":
        """Wait up to ``timeout`` seconds for a card to be placed and read; (whether it
        passed, the reader, the photo's state ``decoded``/``undecodable``/``blank``/
        ``not_checked``, a detail naming any missing field by key).

        ``NoCardReader`` when no reader works; ``CardNotRead`` when no card came or it
        could not be read. The identity is dropped before the answer (§8 d)."""
        self._refuse_if_busy()
        working = [d for d, state in self._readers.items() if state == ReaderState.OK.value]
        if not working:
            shown = ", ".join(f"{d}: {s}" for d, s in sorted(self._readers.items()))
            raise NoCardReaderError(f"no ID card reader works ({shown or 'none found'})")
        limit = min(max(timeout, 1.0), MAX_CARD_WAIT)
        decode = _decoder(self._face())
        async with self._running:
            loop = asyncio.get_running_loop()
            outcome: asyncio.Future[Optional[IdentityRead]] = loop.create_future()
            failures: List[str] = []

            def on_read(event: IdentityRead) -> None:
                if not outcome.done() and not self.busy():  # never a citizen's card
                    outcome.set_result(event)

            def on_failed(event: CardReadFailed) -> None:
                failures.append(f"{event.device}: {event.reason}")
                if not outcome.done():
                    outcome.set_result(None)

            unsubscribers = [
                self._bus.subscribe(IdentityRead, on_read, personal=True),
                self._bus.subscribe(CardReadFailed, on_failed),
            ]
            self._bus.publish(CardTestWaiting(limit))
            try:
                read = await wait_for(asyncio.shield(outcome), limit)
            except asyncio.TimeoutError:
                raise CardNotReadError(
                    f"no card was read within {limit:g} s: place the card on the reader"
                    " (take it off and place it again if it lay there already)"
                ) from None
            finally:
                for unsubscribe in unsubscribers:
                    unsubscribe()
                if not outcome.done():
                    outcome.cancel()
            if read is None:
                raise CardNotReadError("the card could not be read: " + "; ".join(failures))
            device, identity = read.device, read.identity
            del read
            check: CardCheck = await loop.run_in_executor(None, judge, identity, decode)
            del identity  # the card's content goes no further (§8 d)
        self._bus.publish(
            AdminAction(
                "maintenance",
                "card_test",
                {"device": device, "passed": check.passed, "photo": check.photo.value},
            )
        )
        return [check.passed, device, check.photo.value, check.detail]


def _decoder(settings: FaceSettings) -> Optional[Decode]:
    """The card photo's decoder here, or None: none configured, or the vendor's library,
    which runs only in the face worker's process."""
    decoder = decoder_for(settings)
    if isinstance(decoder, (NoDecoder, VendorLibraryDecoder)):
        return None
    return decoder.decode


def install(runtime: Runtime, busy: Callable[[], bool]) -> ChecksInterface:
    """Export ``Checks1``; ``busy`` says whether a citizen's session is in progress."""
    interface = ChecksInterface(
        runtime.bus,
        runtime.activity,
        runtime.kiosk_id,
        a4_printer(runtime, runtime.config.session),
        session=lambda: runtime.config.session,
        face=lambda: runtime.config.face,
        busy=busy,
    )
    runtime.dbus.export(interface)
    return interface
