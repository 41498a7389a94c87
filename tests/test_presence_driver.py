"""The presence driver against its simulators over a real pty, with shortened hold times."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import AsyncIterator, Callable, List, Tuple

import pytest

from govkiosk.bus import Event, EventBus
from govkiosk.devices.presence.driver import PresenceDriver
from govkiosk.devices.presence.errors import PresenceError
from govkiosk.devices.presence.events import PersonArrived, PersonLeft
from govkiosk.devices.presence.settings import PresenceSettings
from govkiosk.devices.presence.sim import Ld2410Simulator, PresenceSimulator, TokenSimulator
from govkiosk.devices.simhost import PtyTransport, serve_pty
from govkiosk.devices.spec import DeviceSpec

FAST = PresenceSettings(arrive_after=0.05, leave_after=0.1, max_distance_cm=150)

Rig = Tuple[PresenceDriver, PresenceSimulator, "asyncio.Queue[Event]"]


async def next_event(events: asyncio.Queue[Event], timeout: float = 3.0) -> Event:
    return await asyncio.wait_for(events.get(), timeout)


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[[PresenceSimulator, PresenceSettings], Rig]]:
    started: List[Tuple[PresenceDriver, asyncio.Task[None], PtyTransport]] = []

    async def make(sim: PresenceSimulator, settings: PresenceSettings) -> Rig:
        pty = serve_pty(sim)
        bus = EventBus()
        events: asyncio.Queue[Event] = asyncio.Queue()
        for kind in (PersonArrived, PersonLeft):
            bus.subscribe(kind, events.put_nowait)
        driver = PresenceDriver(
            DeviceSpec(f"presence@{pty.path}", "presence", pty.path), bus, lambda: settings
        )
        await driver.start()
        task = asyncio.ensure_future(driver.serve())
        started.append((driver, task, pty))
        return driver, sim, events

    yield make  # type: ignore[misc]
    for driver, task, pty in started:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await driver.stop()
        pty.close()


async def test_ld2410_arrival_and_departure(make_rig) -> None:
    driver, sim, events = await make_rig(Ld2410Simulator(interval=0.02), FAST)
    assert driver.firmware == "V1.07.22091516"
    sim.arrive(90)
    assert await next_event(events) == PersonArrived(driver.name)
    assert driver.present
    sim.leave()
    assert await next_event(events) == PersonLeft(driver.name)
    assert not driver.present


async def test_engineering_frames_work_too(make_rig) -> None:
    driver, sim, events = await make_rig(Ld2410Simulator(0.02, engineering=True), FAST)
    sim.arrive(60)
    assert await next_event(events) == PersonArrived(driver.name)


async def test_someone_beyond_max_distance_is_a_passer_by(make_rig) -> None:
    driver, sim, events = await make_rig(Ld2410Simulator(interval=0.02), FAST)
    sim.arrive(400)
    await asyncio.sleep(0.3)  # six times arrive_after: would have arrived by now
    assert events.empty()
    sim.arrive(100)
    assert await next_event(events) == PersonArrived(driver.name)


async def test_flicker_produces_no_event(make_rig) -> None:
    settings = dataclasses.replace(FAST, arrive_after=1.0)
    driver, sim, events = await make_rig(Ld2410Simulator(interval=0.02), settings)
    await sim.flicker(times=20, period=0.02)
    sim.leave()
    await asyncio.sleep(0.2)
    assert events.empty()
    sim.arrive(80)  # and a real arrival still comes through
    assert await next_event(events) == PersonArrived(driver.name)


async def test_token_sensor_reporting_only_on_change(make_rig) -> None:
    settings = dataclasses.replace(FAST, kind="lines", silence_timeout=0.0)
    sim = TokenSimulator(interval=0.02, present="1", absent="0")
    sim.streaming = False
    driver, _, events = await make_rig(sim, settings)
    sim.streaming = True
    sim.arrive()  # one "1" line, then nothing: the hold ends on the driver's timer
    sim.streaming = False
    assert await next_event(events) == PersonArrived(driver.name)
    sim.streaming = True
    sim.leave()
    sim.streaming = False
    assert await next_event(events) == PersonLeft(driver.name)


async def test_a_silent_sensor_fails_the_service() -> None:
    sim = Ld2410Simulator(interval=0.02)
    pty = serve_pty(sim)
    settings = dataclasses.replace(FAST, silence_timeout=0.2)
    driver = PresenceDriver(
        DeviceSpec("presence@x", "presence", pty.path), EventBus(), lambda: settings
    )
    try:
        await driver.start()
        sim.streaming = False
        with pytest.raises(PresenceError, match=r"no reading for 0\.2 s"):
            await asyncio.wait_for(driver.serve(), 3)
    finally:
        await driver.stop()
        pty.close()


async def test_something_that_is_not_an_ld2410_is_refused() -> None:
    sim = TokenSimulator(interval=0.02)  # streams text, answers no command
    pty = serve_pty(sim)
    driver = PresenceDriver(
        DeviceSpec("presence@x", "presence", pty.path),
        EventBus(),
        lambda: FAST,
        command_timeout=0.2,
    )
    try:
        with pytest.raises(PresenceError, match="no answer to command 0x00ff"):
            await driver.start()
    finally:
        await driver.stop()
        pty.close()


async def test_the_port_is_read_at_most_every_read_every_and_no_reading_is_lost(
    make_rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    chunks: List[Tuple[float, int]] = []
    read = asyncio.Event()
    original = PresenceDriver._on_frames

    def spy(self: PresenceDriver, data: bytes) -> None:
        chunks.append((loop.time(), len(data)))
        read.set()
        original(self, data)

    monkeypatch.setattr(PresenceDriver, "_on_frames", spy)
    settings = dataclasses.replace(FAST, read_every=0.2)
    driver, sim, events = await make_rig(Ld2410Simulator(interval=0.02), settings)
    sim.arrive(90)
    assert await next_event(events) == PersonArrived(driver.name)
    reads = len(chunks)
    while len(chunks) < reads + 4:  # four more batches of readings
        read.clear()
        await read.wait()
    batched = chunks[reads - 1 :]
    gaps = [later[0] - earlier[0] for earlier, later in zip(batched, batched[1:])]
    assert min(gaps) >= 0.2 - 0.005  # never read sooner than read_every after the last read
    assert max(size for _, size in batched) > 23  # a read takes several frames at once
    sim.leave()
    assert await next_event(events) == PersonLeft(driver.name)
