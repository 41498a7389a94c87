"""The staged shutdown end to end: simulated Megatec UPS on a pty → driver → policy →
``cn.govkiosk.Power1`` on a private bus → PowerOff to a stand-in logind on that bus."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import AsyncIterator, Callable, List, NamedTuple

from dbus_next.aio import MessageBus

from govkiosk.activity import Activity
from govkiosk.api.power import PowerInterface
from govkiosk.bus import Alarm, Event, EventBus, Severity
from govkiosk.contract.connection import release
from govkiosk.contract.names import BUS_NAME, OBJECT_PATH, POWER_INTERFACE
from govkiosk.dbus.service import DBusService
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.megatec_driver import MegatecDriver
from govkiosk.devices.ups.settings import UpsSettings
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.devices.ups.state import UpsStateChanged
from govkiosk.power.logind import power_off
from govkiosk.power.service import PowerOffRequested, ShutdownService, ShutdownStageChanged
from govkiosk.supervisor import Service
from harness.dbus import PrivateBus
from harness.events import next_matching
from harness.logind import FakeLogind, serve_logind

WAIT = 10.0
SETTINGS = UpsSettings(
    poll_interval=0.05,
    timeout=0.5,
    grace_period=0.3,
    mains_hysteresis=0.6,
    drain_timeout=30.0,
    final_delay=0.1,
)


class Kiosk(NamedTuple):
    model: UpsModel
    bus: EventBus
    activity: Activity
    logind: FakeLogind
    power: object  # the Power1 proxy interface, as the UI sees it


@contextlib.asynccontextmanager
async def kiosk(private_bus: PrivateBus, settings: UpsSettings) -> AsyncIterator[Kiosk]:
    model = UpsModel()
    pty = serve_pty(MegatecSimulator(model))
    logind_bus, logind = await serve_logind(private_bus.address)
    bus, activity = EventBus(), Activity()
    driver = MegatecDriver(DeviceSpec("ups@sim", "ups", pty.path), bus, lambda: settings)
    shutdown = ShutdownService(
        bus, activity, settings, lambda: power_off(private_bus.address, timeout=5)
    )
    dbus = DBusService(private_bus.address)
    dbus.export(PowerInterface(bus, lambda: shutdown.stage))
    services: List[Service] = [dbus, driver, shutdown]
    tasks = []
    client = await MessageBus(bus_address=private_bus.address).connect()
    try:
        for service in services:
            await service.start()
            tasks.append(asyncio.ensure_future(service.serve()))
        introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
        proxy = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        yield Kiosk(model, bus, activity, logind, proxy.get_interface(POWER_INTERFACE))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        server_side = dbus._bus
        for service in reversed(services):
            await service.stop()
        # dbus-next shuts its sockets down but never closes them (a ResourceWarning); the
        # daemon's side was cancelled with its service, so it is not waited for.
        for connection in (client, logind_bus):
            connection.disconnect()
            await connection.wait_for_disconnect()
            release(connection)
        if server_side is not None:
            release(server_side)
        pty.close()


def stage_is(stage: str) -> Callable[[Event], bool]:
    return lambda event: isinstance(event, ShutdownStageChanged) and event.stage == stage


async def test_outage_drains_a_print_then_powers_off_through_logind(
    private_bus: PrivateBus,
) -> None:
    async with kiosk(private_bus, SETTINGS) as k:
        with k.bus.stream(ShutdownStageChanged, Alarm) as events:
            assert await k.power.get_stage() == "normal"
            async with k.activity.busy("print"):
                k.model.set_status("OB")
                alarm = await next_matching(events, lambda e: isinstance(e, Alarm), WAIT)
                assert (alarm.source, alarm.code, alarm.severity) == (
                    "power",
                    "on_battery",
                    Severity.WARNING,
                )
                draining = await next_matching(events, stage_is("draining"), WAIT)
                assert not draining.accepting_sessions
                assert "on battery" in draining.reason
                await asyncio.sleep(0.3)  # the print goes on; nothing moves meanwhile
                assert await k.power.get_stage() == "draining"
                assert k.logind.power_off_calls == []
            await next_matching(events, stage_is("out_of_service"), WAIT)
            await next_matching(events, stage_is("powering_off"), WAIT)
            for _ in range(200):
                if k.logind.power_off_calls:
                    break
                await asyncio.sleep(0.02)
            assert k.logind.power_off_calls == [False]
            state = await k.power.call_get_state()
            assert state["on_battery"].value is True
            assert state["device_id"].value == "ups@sim"


async def test_dry_run_publishes_instead_of_powering_off(private_bus: PrivateBus) -> None:
    async with kiosk(private_bus, replace(SETTINGS, dry_run=True)) as k:
        with k.bus.stream(PowerOffRequested) as requests:
            k.model.set_status("OB LB")
            request = await next_matching(requests, lambda e: True, WAIT)
            assert request.dry_run
            await asyncio.sleep(0.2)
            assert k.logind.power_off_calls == []
            assert await k.power.get_stage() == "powering_off"


async def test_mains_back_before_the_end_cancels_and_restores(private_bus: PrivateBus) -> None:
    async with kiosk(private_bus, SETTINGS) as k:
        with k.bus.stream(ShutdownStageChanged) as stages:
            async with k.activity.busy("print"):
                k.model.set_status("OB LB")
                await next_matching(stages, stage_is("draining"), WAIT)
                k.model.set_status("OL")
                restored = await next_matching(stages, lambda e: True, WAIT)
            assert restored.stage == "normal"
            assert restored.accepting_sessions
            assert await k.power.get_stage() == "normal"
            assert k.logind.power_off_calls == []


async def test_flickering_mains_gives_one_banner_and_one_restore(private_bus: PrivateBus) -> None:
    async with kiosk(private_bus, replace(SETTINGS, grace_period=60.0)) as k:
        seen: List[str] = []
        k.bus.subscribe(ShutdownStageChanged, lambda e: seen.append(e.stage))
        with k.bus.stream(ShutdownStageChanged) as stages:
            k.model.set_status("OB")
            await next_matching(stages, stage_is("on_battery"), WAIT)
            for _ in range(3):  # back for less than the hysteresis, then gone again
                k.model.set_status("OL")
                await asyncio.sleep(0.15)
                k.model.set_status("OB")
                await asyncio.sleep(0.15)
            assert await k.power.get_stage() == "on_battery"
            k.model.set_status("OL")
            restored = await next_matching(stages, lambda e: True, WAIT)
            assert restored.stage == "normal"
            await asyncio.sleep(0.2)
            assert seen == ["on_battery", "normal"]


async def test_self_test_over_dbus_reaches_the_ups(private_bus: PrivateBus) -> None:
    async with kiosk(private_bus, SETTINGS) as k:
        with k.bus.stream(UpsStateChanged) as states:
            for _ in range(500):  # the first reading may have come before the stream
                if await k.power.call_get_state():
                    break
                await asyncio.sleep(0.02)
            await k.power.call_self_test()
            await next_matching(states, lambda e: e.state.self_test_running, WAIT)
