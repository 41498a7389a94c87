"""``[ups]`` settings with --check-config-grade errors, the port choosing the driver, and
the activity gate the shutdown waits on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

import pytest

from govkiosk.activity import Activity
from govkiosk.api.devices import DRIVERS
from govkiosk.app import Daemon
from govkiosk.config import load_config
from govkiosk.devices.spec import DeviceSpec
from govkiosk.devices.ups.megatec_driver import MegatecDriver
from govkiosk.devices.ups.nut_driver import NutDriver
from govkiosk.tables import ConfigError


def problems(tmp_path: Path, ups: str) -> List[str]:
    path = tmp_path / "govkiosk.toml"
    path.write_text(f'[kiosk]\nid = "hlj-0001"\n[ups]\n{ups}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_defaults_and_a_valid_section(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text('[kiosk]\nid = "hlj-0001"\n[ups]\ngrace_period = 30\ndry_run = true\n')
    ups = load_config(path).ups
    assert ups.grace_period == 30.0
    assert ups.dry_run
    assert ups.poll_interval == 5.0


def test_each_bad_key_is_named(tmp_path: Path) -> None:
    found = problems(tmp_path, 'poll_interval = -1\nlogind_bus = "nowhere"\nuser = "a b"')
    assert found[0].startswith("govkiosk.toml: ups.poll_interval: expected a number of seconds > 0")
    assert any(p.startswith("govkiosk.toml: ups.logind_bus:") for p in found)
    assert any(p.startswith("govkiosk.toml: ups.user:") for p in found)


def test_the_section_as_a_whole_must_be_consistent(tmp_path: Path) -> None:
    voltages = problems(tmp_path, "battery_voltage_low = 27.0\nbattery_voltage_high = 21.0")
    assert voltages == [
        "govkiosk.toml: ups: expected battery_voltage_high above battery_voltage_low, "
        "a password or password_file (not both) only with a user, got a table"
    ]
    assert problems(tmp_path, 'password = "x"')[0].startswith("govkiosk.toml: ups: expected")


def test_the_port_decides_the_driver(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text('[kiosk]\nid = "hlj-0001"\n')

    async def build() -> None:
        daemon = Daemon(path, load_config(path), tmp_path, bus_address="unix:path=/nonexistent")
        runtime = daemon.runtime
        nut = DRIVERS["ups"](DeviceSpec("ups@n", "ups", "nut://mon:pw@10.0.0.1/ups"), runtime)
        serial = DRIVERS["ups"](DeviceSpec("ups@s", "ups", "/dev/ttyS0"), runtime)
        assert isinstance(nut, NutDriver)
        assert nut.name == "ups@nut://10.0.0.1:3493/ups"
        assert isinstance(serial, MegatecDriver)

    asyncio.run(build())


async def test_activity_gate_waits_for_work_in_progress_with_a_bound() -> None:
    activity = Activity()
    became_idle: List[bool] = []
    activity.add_listener(lambda: became_idle.append(True))
    assert await activity.wait_idle(0)
    release = asyncio.Event()

    async def print_job() -> None:
        async with activity.busy("print"):
            await release.wait()

    job = asyncio.ensure_future(print_job())
    await asyncio.sleep(0)
    assert activity.busy_with() == ("print",)
    assert not await activity.wait_idle(0.05)  # still printing: the bound wins
    waiter = asyncio.ensure_future(activity.wait_idle(10))
    release.set()
    assert await waiter
    await job
    assert activity.idle
    assert became_idle == [True]


def test_a_password_file_stands_for_the_password(tmp_path: Path) -> None:
    both = 'user = "monitor"\npassword = "x"\npassword_file = "/etc/govkiosk/nut-password"'
    assert problems(tmp_path, both)[0].startswith("govkiosk.toml: ups: expected")
    alone = 'password_file = "/etc/govkiosk/nut-password"'
    assert problems(tmp_path, alone)[0].startswith("govkiosk.toml: ups: expected")
    assert problems(tmp_path, 'user = "monitor"\npassword_file = "nut-password"') == [
        'govkiosk.toml: ups.password_file: expected an absolute path, got "nut-password"'
    ]
