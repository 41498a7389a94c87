"""Fault matrix: a serial device unplugged mid-frame. The ID card reader and the UPS
(Megatec) simulators answer over a pty that the driver reaches through a stable port
path (a symlink, as udev's ``/dev/govkiosk/…`` names are); the daemon's supervisor runs
the driver. Mid-reply the pty goes away with its path, then a new one comes back at the
same path: nothing crashes, the device goes absent then present, the half frame is
discarded and the next read is whole."""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, List, Optional

import pytest

from govkiosk.bus import Event, EventBus, ServiceHealthChanged
from govkiosk.contract.connection import Backoff
from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.driver import IdCardReader
from govkiosk.devices.idcard.events import IdentityRead, ReaderState, ReaderStateChanged
from govkiosk.devices.idcard.protocol import Command
from govkiosk.devices.idcard.settings import IdCardSettings
from govkiosk.devices.idcard.sim import SimulatedReader, SimulatedReaderProtocol
from govkiosk.devices.simhost import PtyTransport, serve_pty
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.megatec_driver import MegatecDriver
from govkiosk.devices.ups.settings import UpsSettings
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.devices.ups.state import UpsStateChanged
from govkiosk.supervisor import Service, ServiceState, Supervisor
from harness.eventually import eventually

WAIT = 10.0
FAST = IdCardSettings(poll_interval=0.01, sam_check_interval=0.2, exchange_timeout=0.3)
UPS_FAST = UpsSettings(poll_interval=0.05, timeout=0.5)


class Plug:
    """A pty behind a stable path: ``unplug()`` closes it mid-whatever and removes the
    path; ``plug(protocol)`` brings a new pty back at the same path. ``written`` counts
    the bytes the device has sent since it was plugged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pty: Optional[PtyTransport] = None
        self.written: List[bytes] = []

    def plug(self, protocol: asyncio.Protocol) -> None:
        pty = serve_pty(protocol)
        send = pty.write
        self.written = []

        def counting(data: Any) -> None:
            self.written.append(bytes(data))
            send(data)

        pty.write = counting  # type: ignore[method-assign]
        self.pty = pty
        self.path.symlink_to(pty.path)

    def unplug(self) -> None:
        self.path.unlink()
        if self.pty is not None:
            self.pty.close()
            self.pty = None


class Seen:
    def __init__(self, bus: EventBus) -> None:
        self.events: List[Event] = []
        bus.subscribe(Event, self.events.append, personal=True)

    def of(self, kind: Any) -> List[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@asynccontextmanager
async def supervised(service: Service, bus: EventBus) -> AsyncIterator[Supervisor]:
    supervisor = Supervisor(bus, Backoff(initial=0.05, maximum=0.2))
    supervisor.add(service)
    supervisor.launch(service.name)
    try:
        yield supervisor
    finally:
        await supervisor.stop_all()


def health(seen: Seen, name: str) -> List[str]:
    return [e.state for e in seen.of(ServiceHealthChanged) if e.service == name]


async def test_card_reader_unplugged_mid_reply_comes_back_and_reads_the_card_whole(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sim = SimulatedReader()
    plug = Plug(tmp_path / "idcard")
    plug.plug(SimulatedReaderProtocol(sim))
    bus = EventBus()
    seen = Seen(bus)
    driver = IdCardReader(DeviceSpec("idcard@test", "idcard", str(plug.path)), bus, lambda: FAST)
    try:
        async with supervised(driver, bus) as supervisor:
            await eventually(lambda: driver.state is ReaderState.OK, "reader up", WAIT)
            # The long READ reply goes out in 64-byte pieces far apart: pulled out after one.
            sim.chunk_size, sim.chunk_gap = 64, 60.0
            identity = synthetic.resident(random.Random(17))
            sim.place(identity)
            await eventually(
                lambda: Command.READ_TEXT_PHOTO in sim.requests and len(plug.written[-1]) == 64,
                "the card's reply half sent",
                WAIT,
            )
            plug.unplug()
            await eventually(
                lambda: ReaderState.LINK_LOST in [e.state for e in seen.of(ReaderStateChanged)],
                "the reader gone",
                WAIT,
            )
            # Absent: the supervisor keeps trying, and fails, while the path is gone.
            await eventually(
                lambda: (
                    health(seen, driver.name)[-1:] == [ServiceState.FAILED]
                    and "retry" in supervisor.health(driver.name)[0].detail
                ),
                "the driver waiting for its port",
                WAIT,
            )
            assert seen.of(IdentityRead) == []  # half a frame is no card
            sim.chunk_size, sim.chunk_gap = 0, 0.0
            sim.place(identity)  # powered up again, the reader finds the card anew
            plug.plug(SimulatedReaderProtocol(sim))  # plugged back, same path
            await eventually(lambda: bool(seen.of(IdentityRead)), "the card read", WAIT)
            assert driver.state is ReaderState.OK
            [read] = seen.of(IdentityRead)
            assert read.identity == identity
            assert supervisor.health(driver.name)[0].state is ServiceState.RUNNING
    finally:
        plug.unplug() if plug.pty is not None else None
    states = [e.state for e in seen.of(ReaderStateChanged)]
    assert (
        states.index(ReaderState.LINK_LOST) < len(states) - states[::-1].index(ReaderState.OK) - 1
    )
    assert not [r for r in caplog.records if r.exc_info]  # typed failures, no tracebacks
    assert identity.id_number not in caplog.text


async def test_ups_unplugged_mid_reply_comes_back_with_a_whole_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    model = UpsModel(battery_voltage=27.0, low_voltage=21.5, discharge_rate=0.0)
    plug = Plug(tmp_path / "ups")
    plug.plug(MegatecSimulator(model))
    bus = EventBus()
    seen = Seen(bus)
    port = str(plug.path)
    driver = MegatecDriver(DeviceSpec("ups@test", "ups", port), bus, lambda: UPS_FAST)
    try:
        async with supervised(driver, bus) as supervisor:
            await eventually(lambda: bool(seen.of(UpsStateChanged)), "a first reading", WAIT)
            assert seen.of(UpsStateChanged)[-1].state.on_line
            # Unplugged after the first bytes of a reply: the simulator's next answer is
            # cut to its first half, then the cable goes.
            assert plug.pty is not None
            send = plug.pty.write
            cut = asyncio.Event()

            def half(data: Any) -> None:
                data = bytes(data)
                send(data[: max(1, len(data) // 2)])
                cut.set()

            plug.pty.write = half  # type: ignore[method-assign]
            await asyncio.wait_for(cut.wait(), WAIT)
            plug.unplug()
            await eventually(
                lambda: health(seen, driver.name)[-1:] == [ServiceState.FAILED],
                "the UPS gone",
                WAIT,
            )
            readings = len(seen.of(UpsStateChanged))
            model.set_status("OB")
            model.battery_voltage = 23.7
            plug.plug(MegatecSimulator(model))
            await eventually(
                lambda: any(e.state.on_battery for e in seen.of(UpsStateChanged)[readings:]),
                "a whole reading after the cable is back",
                WAIT,
            )
            reading = next(e for e in seen.of(UpsStateChanged)[readings:] if e.state.on_battery)
            assert reading.state.battery_voltage == 23.7
            assert reading.state.charge == 50.0
            assert supervisor.health(driver.name)[0].state is ServiceState.RUNNING
    finally:
        plug.unplug() if plug.pty is not None else None
    assert not [r for r in caplog.records if r.exc_info]
