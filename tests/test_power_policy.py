"""The staged shutdown's state machine, driven through exact timelines (no clock, no I/O)."""

from __future__ import annotations

from typing import List, Optional

from govkiosk.devices.ups.state import UpsState
from govkiosk.power.policy import Stage, StagedShutdown, Timing

TIMING = Timing(grace=60, low_runtime=120, hysteresis=10, drain_timeout=120, final_delay=5)
OL = UpsState(status=("OL",), runtime=1800)
OB = UpsState(status=("OB", "DISCHRG"), runtime=1500)


def stages(
    policy: StagedShutdown, now: float, ups: Optional[UpsState], idle: bool = True
) -> List[str]:
    return [m.stage.value for m in policy.step(now, ups, idle)]


def test_grace_then_drain_then_out_of_service_then_power_off() -> None:
    policy = StagedShutdown(TIMING)
    assert stages(policy, 0, OL) == []
    assert stages(policy, 1, OB) == ["on_battery"]
    assert policy.deadline() == 61
    assert stages(policy, 60, OB) == []
    assert stages(policy, 61, OB, idle=True) == ["draining", "out_of_service"]
    assert policy.deadline() == 66
    assert stages(policy, 66, OB) == ["powering_off"]
    assert stages(policy, 100, OL) == []  # too late to turn back


def test_low_battery_drains_at_once_and_waits_for_the_print() -> None:
    policy = StagedShutdown(TIMING)
    assert stages(policy, 0, UpsState(status=("OB", "LB")), idle=False) == [
        "on_battery",
        "draining",
    ]
    assert stages(policy, 50, UpsState(status=("OB", "LB")), idle=False) == []
    assert stages(policy, 51, UpsState(status=("OB", "LB")), idle=True) == ["out_of_service"]


def test_a_print_that_never_ends_is_given_up_on_after_the_drain_timeout() -> None:
    policy = StagedShutdown(TIMING)
    low = UpsState(status=("OB",), runtime=100)  # below low_runtime
    assert stages(policy, 0, low, idle=False) == ["on_battery", "draining"]
    assert policy.deadline() == 120
    assert stages(policy, 120, low, idle=False) == ["out_of_service"]


def test_flickering_mains_neither_flaps_nor_restarts_the_grace() -> None:
    policy = StagedShutdown(TIMING)
    assert stages(policy, 0, OB) == ["on_battery"]
    for t in range(1, 50, 2):  # mains back for one second in every two
        assert stages(policy, t, OL) == []
        assert stages(policy, t + 1, OB) == []
    assert stages(policy, 60, OB, idle=False) == ["draining"]  # grace counted from t=0


def test_mains_held_for_the_hysteresis_cancels_a_shutdown_in_progress() -> None:
    policy = StagedShutdown(TIMING)
    stages(policy, 0, UpsState(status=("OB", "LB")), idle=False)
    assert policy.stage is Stage.DRAINING
    assert stages(policy, 10, OL, idle=False) == []
    assert policy.deadline() == 20
    assert stages(policy, 20, OL, idle=False) == ["normal"]
    assert policy.deadline() is None
    assert stages(policy, 30, OB) == ["on_battery"]  # a new outage starts afresh
    assert policy.deadline() == 90


def test_forced_shutdown_drains_even_on_line_and_stale_readings_never_restore() -> None:
    policy = StagedShutdown(TIMING)
    assert stages(policy, 0, UpsState(status=("OL", "FSD")), idle=False) == [
        "on_battery",
        "draining",
    ]
    stale_ol = UpsState(status=("OL",), stale=True)
    assert stages(policy, 100, stale_ol, idle=False) == []
    assert stages(policy, 200, stale_ol, idle=False) == ["out_of_service"]  # drain timeout


def test_a_failed_power_off_is_retried_after_the_final_delay() -> None:
    policy = StagedShutdown(TIMING)
    stages(policy, 0, UpsState(status=("OB", "LB")))
    stages(policy, 5, UpsState(status=("OB", "LB")))
    assert policy.stage is Stage.POWERING_OFF
    assert policy.power_off_failed(6, "no logind").stage is Stage.OUT_OF_SERVICE
    assert stages(policy, 11, UpsState(status=("OB", "LB"))) == ["powering_off"]
