"""The Megatec driver against the simulator: a real pty, and links that misbehave."""

from __future__ import annotations

import asyncio
from typing import Callable, List

import pytest

from govkiosk.bus import EventBus
from govkiosk.devices.simhost import serve_pty, serve_tcp, socket_url
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.errors import UpsLinkError
from govkiosk.devices.ups.megatec_driver import MegatecDriver
from govkiosk.devices.ups.settings import UpsSettings
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel, parse_script, run_script
from govkiosk.devices.ups.state import UpsSelfTestRequested, UpsStateChanged
from harness.events import next_matching
from harness.faulty_proxy import Faults, FaultyProxy
from harness.services import running

FAST = UpsSettings(poll_interval=0.05, timeout=0.5)
WAIT = 10.0


def make_driver(port: str, bus: EventBus, settings: UpsSettings = FAST) -> MegatecDriver:
    return MegatecDriver(
        DeviceSpec(f"ups@{port}", "ups", port), bus, lambda: settings, silence_limit=2
    )


async def test_outage_over_a_real_pty() -> None:
    model = UpsModel(battery_voltage=27.0, low_voltage=21.5, discharge_rate=0.0)
    pty = serve_pty(MegatecSimulator(model))
    bus = EventBus()
    try:
        with bus.stream(UpsStateChanged) as stream:
            async with running(make_driver(pty.path, bus)):
                first = await next_matching(stream, lambda e: e.state.on_line, WAIT)
                assert first.state.charge == 100.0
                assert first.state.battery_voltage == 27.0
                assert first.can_self_test
                assert first.state.source == pty.path

                model.set_status("OB")
                model.battery_voltage = 23.7
                on_battery = await next_matching(stream, lambda e: e.state.on_battery, WAIT)
                assert on_battery.state.charge == 50.0
                assert not on_battery.state.low_battery
                assert on_battery.state.runtime == pytest.approx(300.0 * 50 / 14, abs=0.1)

                model.battery_voltage = 21.0  # below the simulator's low-battery level
                low = await next_matching(stream, lambda e: e.state.low_battery, WAIT)
                assert low.state.status[:2] == ("OB", "LB")

                model.set_status("OL")
                await next_matching(stream, lambda e: e.state.on_line, WAIT)
    finally:
        pty.close()


async def test_self_test_request_reaches_the_ups_and_can_be_cancelled() -> None:
    model = UpsModel()
    pty = serve_pty(MegatecSimulator(model))
    bus = EventBus()
    driver = make_driver(pty.path, bus)
    try:
        with bus.stream(UpsStateChanged) as stream:
            async with running(driver):
                await next_matching(stream, lambda e: e.state.on_line, WAIT)
                bus.publish(UpsSelfTestRequested(driver.name))
                await next_matching(stream, lambda e: e.state.self_test_running, WAIT)
                bus.publish(UpsSelfTestRequested(driver.name, cancel=True))
                await next_matching(stream, lambda e: not e.state.self_test_running, WAIT)
    finally:
        pty.close()


class NoisyEcho(MegatecSimulator):
    """A UPS that echoes each command and adds line noise before answering."""

    def data_received(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data.replace(b"\r", b"\r\x00\xfe"))
        super().data_received(data)


@pytest.mark.parametrize(
    ("faults", "protocol"),
    [
        (Faults(one_byte_at_a_time=True, max_delay=0.002, seed=1), MegatecSimulator),
        (Faults(drop_rate=0.02, seed=7), MegatecSimulator),
        (Faults(one_byte_at_a_time=True, seed=3), NoisyEcho),
    ],
    ids=["byte-by-byte", "drops", "echo-and-noise"],
)
async def test_readings_survive_a_misbehaving_link(
    faults: Faults, protocol: Callable[[UpsModel], MegatecSimulator]
) -> None:
    model = UpsModel()
    server = await serve_tcp(lambda: protocol(model))
    proxy = FaultyProxy(socket_url(server), faults)
    bus = EventBus()
    try:
        port = await proxy.start()
        with bus.stream(UpsStateChanged) as stream:
            async with running(make_driver(port, bus)):
                await next_matching(stream, lambda e: e.state.on_line, WAIT)
                model.set_status("OB LB")
                low = await next_matching(stream, lambda e: e.state.low_battery, WAIT)
                # whatever was lost on the way, a reading that arrives is a whole one
                assert low.state.input_voltage == 0.0
                assert low.state.load == 14.0
    finally:
        await proxy.close()
        server.close()
        await server.wait_closed()


async def test_a_stalled_link_makes_the_reading_stale() -> None:
    model = UpsModel()
    server = await serve_tcp(lambda: MegatecSimulator(model))
    proxy = FaultyProxy(socket_url(server), Faults(stall_after=47 * 3 + 60))
    bus = EventBus()
    try:
        port = await proxy.start()
        with bus.stream(UpsStateChanged) as stream:
            async with running(make_driver(port, bus)):
                await next_matching(stream, lambda e: e.state.on_line, WAIT)
                stale = await next_matching(stream, lambda e: e.state.stale, WAIT)
                assert stale.state.on_line  # the last known flags
    finally:
        await proxy.close()
        server.close()
        await server.wait_closed()


async def test_a_silent_ups_has_no_identity_but_is_still_polled() -> None:
    model = UpsModel(echo_unknown=False)

    class NoIdentity(MegatecSimulator):
        def data_received(self, data: bytes) -> None:
            if data != b"I\r":
                super().data_received(data)

    pty = serve_pty(NoIdentity(model))
    bus = EventBus()
    try:
        with bus.stream(UpsStateChanged) as stream:
            async with running(make_driver(pty.path, bus)):
                await next_matching(stream, lambda e: e.state.on_line, WAIT)
    finally:
        pty.close()


async def poll_until_failure(driver: MegatecDriver) -> None:
    for _ in range(50):
        await driver.poll()
        await asyncio.sleep(0.01)


async def test_a_closed_port_fails_the_service() -> None:
    model = UpsModel()
    ends: List[MegatecSimulator] = []

    def device() -> MegatecSimulator:
        ends.append(MegatecSimulator(model))
        return ends[-1]

    server = await serve_tcp(device)
    driver = make_driver(socket_url(server), EventBus())
    try:
        await driver.start()
        await driver.poll()
        assert ends[0].transport is not None
        ends[0].transport.close()  # the cable is pulled
        with pytest.raises(UpsLinkError):
            await poll_until_failure(driver)
    finally:
        await driver.stop()
        server.close()
        await server.wait_closed()


async def test_scripted_outage_discharges_the_battery() -> None:
    now = [0.0]
    model = UpsModel(battery_voltage=27.0, discharge_rate=1.0, clock=lambda: now[0])
    await run_script(model, parse_script("OL:0,OB"))
    now[0] = 6.0
    status = model.status()
    assert status.on_battery
    assert status.battery_voltage == 21.0
    assert status.battery_low
    with pytest.raises(ValueError, match="unknown status"):
        parse_script("ON:5")
