"""Fault: the wall clock is stepped forward and back (NTP after a long time offline, an
engineer setting the date). CI cannot step the machine's clock, so each part that takes
a clock is handed a wall clock the test steps, and a monotonic clock that only moves on.

Where the wall clock is right (command validity windows, replay protection by expiry,
the PIN's age in days, the daily self-test time) a step moves the decision with it, as
it must; where elapsed time is meant (login length, lockout length, USB maintenance
windows, rate limits) a step changes nothing. (The session's own timers — step limits,
the session's limit, walk-away — run on the event loop's monotonic ``loop.time()`` and
need no such clock.)
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import List

import pytest

from govkiosk.devices.usbseal.audit import AuditLog
from govkiosk.devices.usbseal.maintenance import MaintenanceWindows
from govkiosk.maintenance.access import LockedOutError, LoginGate, NotLoggedInError, WrongPinError
from govkiosk.maintenance.pin import hash_pin, verify_pin
from govkiosk.maintenance.settings import MaintenanceSettings
from govkiosk.ops.gate import TokenBucket
from govkiosk.store import Store

HOUR = 3600.0
DAY = 86400.0
NOW = 1_790_000_000.0


class Clocks:
    """A wall clock that can be stepped and a monotonic clock that only advances."""

    def __init__(self) -> None:
        self.wall_offset = 0.0
        self.elapsed = 0.0

    def wall(self) -> float:
        return NOW + self.elapsed + self.wall_offset

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def step(self, seconds: float) -> None:
        """NTP steps the wall clock; no time passes."""
        self.wall_offset += seconds

    def advance(self, seconds: float) -> None:
        """Time passes: both clocks move."""
        self.elapsed += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


def login_gate(clocks: Clocks, **settings: float) -> LoginGate:
    config = MaintenanceSettings(pin_hash=hash_pin("246810", iterations=1000), **settings)  # type: ignore[arg-type]
    return LoginGate(lambda: config, verify_pin, monotonic=clocks.monotonic)


def test_a_login_is_not_lengthened_by_setting_the_clock_back(clocks: Clocks) -> None:
    gate = login_gate(clocks, login_minutes=10)
    token = gate.record(gate.verify("246810"), clocks.wall())
    clocks.step(-HOUR)
    assert gate.seconds_left(token, clocks.wall()) == pytest.approx(600)
    clocks.advance(599)
    assert gate.seconds_left(token, clocks.wall()) == pytest.approx(1)
    clocks.advance(2)
    with pytest.raises(NotLoggedInError):  # by the wall clock it had 59 minutes left
        gate.seconds_left(token, clocks.wall())


def test_a_clock_set_forward_ends_a_login_early_never_late(clocks: Clocks) -> None:
    gate = login_gate(clocks, login_minutes=10)
    token = gate.record(True, clocks.wall())
    clocks.step(HOUR)
    with pytest.raises(NotLoggedInError):
        gate.seconds_left(token, clocks.wall())


def test_a_lockout_lasts_its_length_however_far_the_clock_is_set_back(clocks: Clocks) -> None:
    gate = login_gate(clocks, max_failures=1, lockout_seconds=60)
    with pytest.raises(WrongPinError):
        gate.record(False, clocks.wall())
    clocks.step(-DAY)
    with pytest.raises(LockedOutError, match="try again in 60 s"):
        gate.check_open(clocks.wall())
    clocks.advance(61)
    gate.check_open(clocks.wall())  # open again: not a day and a minute later


def test_the_lockout_kept_across_a_restart_is_bounded_too(clocks: Clocks) -> None:
    gate = login_gate(clocks, max_failures=1, lockout_seconds=60)
    with pytest.raises(WrongPinError):
        gate.record(False, clocks.wall())
    saved = gate.lockout()
    clocks.step(-DAY)
    restarted = login_gate(clocks, max_failures=1, lockout_seconds=60)
    restarted.restore(saved)
    with pytest.raises(LockedOutError):
        restarted.check_open(clocks.wall())
    clocks.advance(61)
    restarted.check_open(clocks.wall())


def test_a_rate_limit_is_not_turned_into_a_lockout_by_a_clock_set_back(clocks: Clocks) -> None:
    bucket = TokenBucket(clocks.wall)
    assert all(bucket.take(1.0, 5) for _ in range(5))
    assert not bucket.take(1.0, 5)
    clocks.step(-HOUR)
    clocks.advance(1.0)
    assert not bucket.take(1.0, 5)  # the step swallows at most the second it spans
    clocks.advance(1.0)
    # Before: an hour of negative tokens, the key refused for an hour.
    assert bucket.take(1.0, 5)
    clocks.step(DAY)  # forward: at most the burst comes back
    assert sum(bucket.take(1.0, 5) for _ in range(10)) == 5


def test_a_usb_maintenance_window_closes_on_time_whatever_the_clock_says(
    clocks: Clocks, tmp_path: Path
) -> None:
    async def run() -> List[object]:
        store = Store(tmp_path)
        await store.open()
        try:
            audit = AuditLog(store, clock=clocks.wall)
            await audit.migrate()
            operators = ("engineer:" + hashlib.sha256(b"engineer-token").hexdigest(),)
            windows = MaintenanceWindows(
                store, audit, operators, 30, clock=clocks.wall, monotonic=clocks.monotonic
            )
            windows.eligible = frozenset({"1-4"})
            await windows.open("1-4", 10, "engineer", "engineer-token")
            clocks.step(-HOUR)  # by the wall clock: 70 minutes left
            seen: List[object] = [windows.open_ports(), windows.seconds_left()]
            clocks.advance(601)
            seen += [windows.open_ports(), await windows.expire()]
            # A restart after the clock was set back: at most max_minutes from then.
            await windows.open("1-4", 10, "engineer", "engineer-token")
            clocks.step(-DAY)
            restarted = MaintenanceWindows(
                store, audit, operators, 30, clock=clocks.wall, monotonic=clocks.monotonic
            )
            await restarted.load()
            seen.append(restarted.seconds_left())
            clocks.advance(30 * 60 + 1)
            seen += [restarted.open_ports(), await restarted.expire()]
            return seen
        finally:
            await store.close()

    seen = asyncio.run(run())
    assert seen[0] == frozenset({"1-4"})
    assert seen[1] == pytest.approx(600)
    assert seen[2] == frozenset()
    assert seen[3] == frozenset({"1-4"})
    assert seen[4] == pytest.approx(30 * 60)
    assert seen[5] == frozenset()
    assert seen[6] == frozenset({"1-4"})
