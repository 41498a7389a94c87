"""The NUT driver against a real upsd + dummy-ups: OL → OB → OB LB → OL, stale, accounts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from govkiosk.bus import EventBus
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.errors import NutAccessError, NutUnknownUpsError, UpsLinkError
from govkiosk.devices.ups.nut_driver import NutClient, NutDriver
from govkiosk.devices.ups.settings import UpsSettings
from govkiosk.devices.ups.state import UpsStateChanged
from harness.events import next_matching
from harness.nut import NutServer
from harness.services import running

FAST = UpsSettings(poll_interval=0.2, timeout=2.0)
CHANGE = 15.0  # dummy-ups notices a rewritten file within about two seconds


async def test_states_follow_the_ups_through_an_outage(nut: NutServer) -> None:
    bus = EventBus()
    settings = replace(FAST, user=nut.user, password=nut.password)
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), bus, lambda: settings)
    with bus.stream(UpsStateChanged) as stream:
        async with running(driver):
            first = await next_matching(stream, lambda e: e.state.on_line, CHANGE)
            assert first.state.charge == 100.0
            assert first.state.runtime == 1800.0
            assert first.device_id == f"ups@{nut.url}"
            assert first.can_self_test  # an account: the battery test may be asked for

            nut.write(ups_status="OB DISCHRG", battery_charge="60", battery_runtime="600")
            on_battery = await next_matching(stream, lambda e: e.state.on_battery, CHANGE)
            assert not on_battery.state.on_line
            assert on_battery.state.charge == 60.0

            nut.write(ups_status="OB LB DISCHRG", battery_charge="9", battery_runtime="90")
            low = await next_matching(stream, lambda e: e.state.low_battery, CHANGE)
            assert low.state.runtime == 90.0
            assert low.state.status == ("OB", "LB", "DISCHRG")

            nut.write(ups_status="OL CHRG", battery_charge="12")
            back = await next_matching(stream, lambda e: e.state.on_line, CHANGE)
            assert not back.state.on_battery
            assert back.state.status == ("OL", "CHRG")


async def test_a_driver_gone_from_upsd_makes_the_reading_stale(nut: NutServer) -> None:
    bus = EventBus()
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), bus, lambda: FAST)
    with bus.stream(UpsStateChanged) as stream:
        async with running(driver):
            await next_matching(stream, lambda e: e.state.on_line, CHANGE)
            nut.stop_driver()  # upsd now answers ERR DRIVER-NOT-CONNECTED / DATA-STALE
            stale = await next_matching(stream, lambda e: e.state.stale, CHANGE)
            assert stale.state.on_line  # the last known flags, marked stale


async def test_client_lists_and_gets(nut: NutServer) -> None:
    client = await NutClient.connect("127.0.0.1", nut.port, 2.0)
    try:
        assert await client.list_ups() == {nut.name: "kiosk UPS"}
        for _ in range(100):  # "WAIT" until dummy-ups has read its file
            if await client.get_var(nut.name, "ups.status") == "OL CHRG":
                break
            await asyncio.sleep(0.1)
        assert await client.get_var(nut.name, "battery.runtime") == "1800"
        with pytest.raises(NutUnknownUpsError):
            await client.list_var("nosuchups")
    finally:
        await client.close()


async def test_a_wrong_password_is_an_access_error(nut: NutServer) -> None:
    settings = replace(FAST, user=nut.user, password="wrong")
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), EventBus(), lambda: settings)
    with pytest.raises(NutAccessError):
        await driver.start()
    await driver.stop()


async def test_credentials_in_the_port_work_and_stay_out_of_the_name(nut: NutServer) -> None:
    port = nut.url.replace("nut://", f"nut://{nut.user}:{nut.password}@")
    driver = NutDriver(DeviceSpec("ups@test", "ups", port), EventBus(), lambda: FAST)
    await driver.start()
    await driver.stop()
    assert nut.password not in driver.name


async def test_no_upsd_is_a_link_error() -> None:
    driver = NutDriver(
        DeviceSpec("ups@test", "ups", "nut://127.0.0.1:1/ups"), EventBus(), lambda: FAST
    )
    with pytest.raises(UpsLinkError):
        await driver.start()


async def test_the_password_may_come_from_a_file(nut: NutServer, tmp_path: Path) -> None:
    secret = tmp_path / "nut-password"
    secret.write_text(f"{nut.password}\n", encoding="utf-8")
    settings = replace(FAST, user=nut.user, password_file=str(secret))
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), EventBus(), lambda: settings)
    await driver.start()
    await driver.stop()

    secret.write_text("wrong\n", encoding="utf-8")
    refused = NutDriver(DeviceSpec("ups@test", "ups", nut.url), EventBus(), lambda: settings)
    with pytest.raises(NutAccessError):
        await refused.start()
    await refused.stop()


async def test_the_keys_win_over_credentials_in_the_port(nut: NutServer) -> None:
    port = nut.url.replace("nut://", f"nut://{nut.user}:wrong@")
    settings = replace(FAST, user=nut.user, password=nut.password)
    driver = NutDriver(DeviceSpec("ups@test", "ups", port), EventBus(), lambda: settings)
    await driver.start()
    await driver.stop()


async def test_an_unreadable_password_file_is_a_link_error(nut: NutServer, tmp_path: Path) -> None:
    settings = replace(FAST, user=nut.user, password_file=str(tmp_path / "absent"))
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), EventBus(), lambda: settings)
    with pytest.raises(UpsLinkError, match="password_file"):
        await driver.start()
    await driver.stop()
