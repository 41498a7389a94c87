"""The ID card driver against the simulator: over a pty, over TCP, through bad links."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, AsyncIterator, Callable, List, Type, TypeVar

import pytest

from govkiosk.bus import Event, EventBus
from govkiosk.contract.logs import PersonalDataFilter, looks_personal
from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.cardtext import CardKind, ForeignResidentIdentity, Identity
from govkiosk.devices.idcard.driver import IdCardReader
from govkiosk.devices.idcard.errors import LinkLostError
from govkiosk.devices.idcard.events import (
    CardPresented,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderState,
    ReaderStateChanged,
)
from govkiosk.devices.idcard.protocol import Command
from govkiosk.devices.idcard.settings import IdCardSettings
from govkiosk.devices.idcard.sim import SimulatedReader, SimulatedReaderProtocol
from govkiosk.devices.link import open_link
from govkiosk.devices.simhost import serve_pty, serve_tcp, socket_url
from govkiosk.devices.spec import DeviceSpec
from harness.faulty import DropBytes, OneByteAtATime, RandomChunks, Stall, faulty_opener

E = TypeVar("E", bound=Event)

#: Protocol constants shortened for tests (the defaults are 1 s, 5 s, 5 s).
FAST = IdCardSettings(poll_interval=0.01, sam_check_interval=0.2, exchange_timeout=0.3)
#: A byte-by-byte 1,295-byte reply takes a while to trickle through the event loop.
SLOW_LINK = IdCardSettings(poll_interval=0.01, sam_check_interval=0.2, exchange_timeout=0.8)


class Events:
    """Everything the driver publishes, personal events included (the session's view)."""

    def __init__(self, bus: EventBus) -> None:
        self.seen: List[Event] = []
        self._changed = asyncio.Event()
        bus.subscribe(Event, self._put, personal=True)

    def _put(self, event: Event) -> None:
        self.seen.append(event)
        self._changed.set()

    def of(self, kind: Type[E]) -> List[E]:
        return [e for e in self.seen if isinstance(e, kind)]

    async def wait_for(
        self, kind: Type[E], count: int = 1, where: Callable[[E], bool] = lambda e: True
    ) -> E:
        async def matching() -> E:
            while True:
                found = [e for e in self.of(kind) if where(e)]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(matching(), 20)


class Rig:
    def __init__(self, reader: SimulatedReader, driver: IdCardReader, events: Events) -> None:
        self.sim = reader
        self.driver = driver
        self.events = events


async def run_driver(
    port: str, settings: IdCardSettings = FAST, opener: Callable[..., Any] = open_link
) -> AsyncIterator[Any]:
    bus = EventBus()
    events = Events(bus)
    driver = IdCardReader(
        DeviceSpec("idcard@test", "idcard", port), bus, lambda: settings, opener=opener
    )
    await driver.start()
    task = asyncio.ensure_future(driver.serve())
    try:
        yield driver, events, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await driver.stop()


@pytest.fixture
async def pty_rig() -> AsyncIterator[Rig]:
    sim = SimulatedReader()
    pty = serve_pty(SimulatedReaderProtocol(sim))
    try:
        async for driver, events, _task in run_driver(pty.path):
            yield Rig(sim, driver, events)
    finally:
        pty.close()


async def finds(sim: SimulatedReader, count: int) -> None:
    """Wait until the simulator has answered ``count`` find-card requests in all."""
    enough = asyncio.Event()

    def on_reply(_command: int) -> None:
        if sim.requests.count(Command.FIND_CARD) >= count:
            enough.set()

    sim.on_reply = on_reply
    try:
        await asyncio.wait_for(enough.wait(), 20)
    finally:
        sim.on_reply = None


def resident(seed: int = 1) -> Identity:
    return synthetic.resident(random.Random(seed))


async def test_card_over_a_pty_is_read_once_and_its_removal_seen(pty_rig: Rig) -> None:
    sim, events = pty_rig.sim, pty_rig.events
    await events.wait_for(ReaderStateChanged, where=lambda e: e.state is ReaderState.OK)
    identity = resident()
    sim.place(identity)
    read = await events.wait_for(IdentityRead)
    assert read.identity == identity
    assert read.device == "idcard@test"
    assert events.of(CardPresented) == [CardPresented("idcard@test")]
    # The card stays: many polls later it has still been read exactly once.
    await finds(sim, sim.requests.count(Command.FIND_CARD) + 20)
    assert sim.reads == 1
    assert len(events.of(IdentityRead)) == 1
    sim.remove()
    await events.wait_for(CardRemoved)
    # A new presentation is read again.
    sim.place(resident(2))
    second = await events.wait_for(IdentityRead, 2)
    assert second.identity == resident(2)
    assert sim.reads == 2


async def test_reader_that_keeps_answering_card_found_is_not_read_twice(pty_rig: Rig) -> None:
    sim, events = pty_rig.sim, pty_rig.events
    sim.finds_read_cards = True
    sim.place(resident())
    await events.wait_for(IdentityRead)
    await finds(sim, 25)
    assert sim.reads == 1
    assert events.of(CardRemoved) == []
    sim.remove()
    await events.wait_for(CardRemoved)


async def test_foreign_card_arrives_as_its_own_type(pty_rig: Rig) -> None:
    foreign = synthetic.foreign_2023(random.Random(5))
    pty_rig.sim.place(foreign)
    read = await pty_rig.events.wait_for(IdentityRead)
    assert isinstance(read.identity, ForeignResidentIdentity)
    assert read.kind is CardKind.FOREIGN_2023


async def test_read_failures_are_retried_then_reported(pty_rig: Rig) -> None:
    sim, events = pty_rig.sim, pty_rig.events
    sim.fail_next(Command.READ_TEXT_PHOTO, 0x41, times=1)
    sim.place(resident())
    await events.wait_for(IdentityRead)  # one failure, then the retry succeeds
    assert events.of(CardReadFailed) == []
    sim.remove()
    await events.wait_for(CardRemoved)
    sim.fail_next(Command.READ_TEXT_PHOTO, 0x41, times=3)
    sim.place(resident(3))
    failed = await events.wait_for(CardReadFailed)
    assert "41" in failed.reason
    assert len(events.of(IdentityRead)) == 1


async def test_sam_fault_is_reported_and_clears(pty_rig: Rig) -> None:
    sim, events = pty_rig.sim, pty_rig.events
    sim.sam_status = 0x60
    fault = await events.wait_for(
        ReaderStateChanged, where=lambda e: e.state is ReaderState.SAM_FAULT
    )
    assert "60" in fault.detail
    sim.place(resident())
    await asyncio.sleep(0.1)
    assert sim.reads == 0  # no card polling while the SAM is faulty
    sim.sam_status = 0x90
    await events.wait_for(IdentityRead)
    assert pty_rig.driver.state is ReaderState.OK


async def test_wrong_checksums_and_slow_fragmented_replies_are_survived(pty_rig: Rig) -> None:
    sim, events = pty_rig.sim, pty_rig.events
    sim.corrupt_next(3)
    sim.reply_delay, sim.chunk_size, sim.chunk_gap = 0.02, 50, 0.001
    sim.place(resident())
    read = await events.wait_for(IdentityRead)
    assert read.identity == resident()


async def test_a_silent_reader_is_not_responding_until_it_answers_again(pty_rig: Rig) -> None:
    sim, events = pty_rig.sim, pty_rig.events
    sim.reply_delay = 1.0  # longer than the 0.3 s exchange timeout
    sim.chunk_size = 0
    await events.wait_for(ReaderStateChanged, where=lambda e: e.state is ReaderState.NOT_RESPONDING)
    sim.reply_delay = 0.0
    sim.place(resident())
    await events.wait_for(IdentityRead)
    assert pty_rig.driver.state is ReaderState.OK


async def test_over_tcp_and_link_loss_ends_serve() -> None:
    sim = SimulatedReader()
    protocols: List[SimulatedReaderProtocol] = []

    def factory() -> SimulatedReaderProtocol:
        protocols.append(SimulatedReaderProtocol(sim))
        return protocols[-1]

    server = await serve_tcp(factory)
    try:
        async for driver, events, task in run_driver(socket_url(server)):
            sim.place(synthetic.residence_permit(random.Random(9)))
            read = await events.wait_for(IdentityRead)
            assert read.kind is CardKind.RESIDENCE_PERMIT
            server.close()
            for protocol in protocols:
                protocol_transport = protocol._transport
                assert protocol_transport is not None
                protocol_transport.close()
            with pytest.raises(LinkLostError):
                await asyncio.wait_for(task, 5)
            assert driver.state is ReaderState.LINK_LOST
    finally:
        server.close()


@pytest.mark.parametrize(
    "policy",
    [
        OneByteAtATime(),
        RandomChunks(max_size=7, max_gap=0.001),
        DropBytes(0.02, budget=4),
        Stall(after=20, seconds=1.0),  # longer than the exchange timeout
    ],
    ids=["one-byte", "random-chunks", "drop-bytes", "stall"],
)
async def test_bad_links_still_deliver_every_card(policy: Any) -> None:
    sim = SimulatedReader()
    pty = serve_pty(SimulatedReaderProtocol(sim))
    try:
        async for _driver, events, _task in run_driver(
            pty.path, SLOW_LINK, opener=faulty_opener(policy, seed=42)
        ):
            for n in range(3):
                sim.place(resident(n))
                read = await events.wait_for(IdentityRead, n + 1)
                assert read.identity == resident(n)
                sim.remove()
                await events.wait_for(CardRemoved, n + 1)
            assert sim.reads >= 3
    finally:
        pty.close()


async def test_no_log_line_during_a_read_carries_the_holder(
    pty_rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    identity = resident(11)
    pty_rig.sim.corrupt_next(1)
    pty_rig.sim.place(identity)
    read = await pty_rig.events.wait_for(IdentityRead)
    logging.getLogger("govkiosk.test").info("session got %s", read)  # an accidental log line
    pty_rig.sim.remove()
    await pty_rig.events.wait_for(CardRemoved)
    guard = PersonalDataFilter()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage()
        assert identity.name not in text  # type: ignore[attr-defined]
        assert identity.id_number not in text  # type: ignore[attr-defined]
        assert not looks_personal(text)
        guard.filter(record)
        assert "withheld" not in record.getMessage() or "personal data" in record.getMessage()
    assert any("card read (resident)" in r.getMessage() for r in caplog.records)
