"""The UPS battery self-test: NUT's ``test.battery.start.quick`` through a real upsd with
dummy-ups, Megatec's ``T`` against the serial simulator, and the outcome parsers.

dummy-ups (NUT 2.8) registers no instant commands: upsd answers ``INSTCMD`` with
``ERR CMD-NOT-SUPPORTED`` — and upsd 2.8 checks that before the account's ``instcmds``,
so an account's refusal (``ERR ACCESS-DENIED``) cannot be shown with it either. Against NUT
these tests prove the login, the command on the wire and the error path;
the polling of ``ups.test.result`` is proved by the parser's tests and, end to end, by
the Megatec driver.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from govkiosk.bus import EventBus
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.megatec import Q1Status
from govkiosk.devices.ups.megatec_driver import MegatecDriver
from govkiosk.devices.ups.nut_driver import NutClient, NutDriver
from govkiosk.devices.ups.selftest import (
    Outcome,
    UpsSelfTestDone,
    UpsSelfTestRun,
    megatec_outcome,
    nut_outcome,
)
from govkiosk.devices.ups.settings import UpsSettings
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.devices.ups.state import UpsStateChanged
from govkiosk.store import Store
from govkiosk.upkeep.selftest import Probe
from govkiosk.upkeep.service import UpkeepService
from govkiosk.upkeep.settings import ConsumablesSettings, SelfTestSettings
from govkiosk.upkeep.store import UpkeepStore
from harness.events import next_matching
from harness.nut import NutServer
from harness.services import running

FAST = UpsSettings(poll_interval=0.05, timeout=1.0, self_test_timeout=5.0, self_test_poll=0.05)
WAIT = 15.0


async def _run(bus: EventBus, device: str) -> UpsSelfTestDone:
    run_id = uuid.uuid4().hex
    with bus.stream(UpsSelfTestDone) as done:
        bus.publish(UpsSelfTestRun(device, run_id))
        return await next_matching(done, lambda e: e.run_id == run_id, WAIT)


def test_nut_results_as_drivers_write_them() -> None:
    assert nut_outcome("Done and passed") is Outcome.PASSED
    assert nut_outcome("Done and warning") is Outcome.PASSED
    assert nut_outcome("Done and error") is Outcome.FAILED
    assert nut_outcome("Aborted") is Outcome.FAILED
    assert nut_outcome("In progress") is None
    assert nut_outcome("No test initiated") is None
    assert nut_outcome("") is None


@given(st.text(max_size=80))
def test_any_result_text_is_an_outcome_or_none(text: str) -> None:
    assert nut_outcome(text) in (None, Outcome.PASSED, Outcome.FAILED)


@given(st.integers(min_value=0, max_value=255))
def test_megatec_outcome_follows_the_fault_and_low_bits(bits: int) -> None:
    status = Q1Status(226.0, 226.0, 220.0, 14.0, 50.0, 26.8, 30.0, bits)
    result = megatec_outcome(status)
    failed = bool(bits & 0b0101_0000)  # b6 battery low, b4 UPS failed
    assert result.outcome is (Outcome.FAILED if failed else Outcome.PASSED)
    assert f"{bits:08b}" in result.text


async def test_megatec_test_runs_and_passes_against_the_simulator() -> None:
    model = UpsModel(test_seconds=0.4)
    pty = serve_pty(MegatecSimulator(model))
    bus = EventBus()
    driver = MegatecDriver(DeviceSpec("ups@sim", "ups", pty.path), bus, lambda: FAST)
    try:
        with bus.stream(UpsStateChanged) as states:
            async with running(driver):
                await next_matching(states, lambda e: e.state.on_line, WAIT)
                done = await _run(bus, driver.name)
                assert done.outcome == Outcome.PASSED.value
                assert "10-second battery test done" in done.text
                assert "battery 27 V" in done.text
                # a battery that sags under the test fails it, naming the remedy
                model.forced_low = True
                low = await _run(bus, driver.name)
                assert low.outcome == Outcome.FAILED.value
                assert "replace the battery" in low.text
    finally:
        pty.close()


async def test_megatec_ups_that_ignores_the_test_is_unknown() -> None:
    model = UpsModel(test_seconds=0.0)  # takes T, never sets the test bit
    pty = serve_pty(MegatecSimulator(model))
    bus = EventBus()
    settings = replace(FAST, self_test_timeout=0.5)
    driver = MegatecDriver(DeviceSpec("ups@sim", "ups", pty.path), bus, lambda: settings)
    try:
        with bus.stream(UpsStateChanged) as states:
            async with running(driver):
                await next_matching(states, lambda e: e.state.on_line, WAIT)
                done = await _run(bus, driver.name)
        assert done.outcome == Outcome.UNKNOWN.value
        assert "still ran" in done.text or "bit 2" in done.text
    finally:
        pty.close()


async def test_nut_quick_test_reaches_upsd_which_dummy_ups_cannot_run(nut: NutServer) -> None:
    bus = EventBus()
    settings = replace(FAST, user=nut.user, password=nut.password)
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), bus, lambda: settings)
    with bus.stream(UpsStateChanged) as states:
        async with running(driver):
            first = await next_matching(states, lambda e: e.state.on_line, WAIT)
            assert first.can_self_test
            done = await _run(bus, driver.name)
    # The account may run commands; dummy-ups registers none: upsd says so.
    assert done.outcome == Outcome.ERROR.value
    assert "CMD-NOT-SUPPORTED" in done.text
    assert "test.battery.start.quick" in done.text
    assert nut.password not in done.text


async def test_nut_without_an_account_cannot_test(nut: NutServer) -> None:
    bus = EventBus()
    driver = NutDriver(DeviceSpec("ups@test", "ups", nut.url), bus, lambda: FAST)
    with bus.stream(UpsStateChanged) as states:
        async with running(driver):
            first = await next_matching(states, lambda e: e.state.on_line, WAIT)
            assert not first.can_self_test
            done = await _run(bus, driver.name)
    assert done.outcome == Outcome.ERROR.value
    assert "[ups] user" in done.text


async def test_the_test_result_variable_is_read_as_dummy_ups_gives_it(nut: NutServer) -> None:
    nut.write(ups_test_result="Done and passed")
    client = await NutClient.connect("127.0.0.1", nut.port, 2.0)
    try:
        for _ in range(100):  # dummy-ups re-reads its file within about two seconds
            variables = await client.list_var(nut.name)
            if variables.get("ups.test.result") == "Done and passed":
                break
        assert nut_outcome(await client.get_var(nut.name, "ups.test.result")) is Outcome.PASSED
    finally:
        await client.close()


async def test_the_daily_self_test_runs_the_battery_test_only_when_chosen(
    tmp_path: Path,
) -> None:
    model = UpsModel(test_seconds=0.3)
    pty = serve_pty(MegatecSimulator(model))
    bus = EventBus()
    driver = MegatecDriver(DeviceSpec("ups@sim", "ups", pty.path), bus, lambda: FAST)
    store = Store(tmp_path / "state")
    await store.open()
    chosen = SelfTestSettings(ups_battery_test=True, disk_min_mb=0)
    settings = [SelfTestSettings(disk_min_mb=0)]
    upkeep = UpkeepService(
        UpkeepStore(store),
        bus,
        Probe(services=list, devices=list, state_dir=tmp_path),
        lambda: settings[0],
        ConsumablesSettings,
        busy=lambda: False,
    )
    await upkeep.start()
    try:
        with bus.stream(UpsStateChanged) as states, bus.stream(UpsSelfTestRun) as runs:
            async with running(driver):
                await next_matching(states, lambda e: e.state.on_line, WAIT)
                off = await upkeep.run_selftest("schedule")
                assert "ups_battery" not in {c.name for c in off.checks}
                assert runs.drain() == []  # the default never runs the kiosk on battery
                settings[0] = chosen
                on = await upkeep.run_selftest("schedule")
        [battery] = [c for c in on.checks if c.name == "ups_battery"]
        assert battery.passed
        assert "passed: 10-second battery test done" in battery.detail
    finally:
        await upkeep.stop()
        upkeep.close()
        await store.close()
        pty.close()
