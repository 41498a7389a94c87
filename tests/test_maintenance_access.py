"""The operator PIN and login gate behind the maintenance screen (pure: clock passed in)."""

from __future__ import annotations

import datetime
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.maintenance.access import (
    LockedOutError,
    LoginGate,
    MaintenanceDisabledError,
    NotLoggedInError,
    WrongPinError,
)
from govkiosk.maintenance.pin import hash_pin, is_pin_hash, verify_pin
from govkiosk.maintenance.settings import MaintenanceSettings

FAST = 1000  # iterations: the tests check the logic, not the hash's cost


def gate(pin_hash: str = "", **settings: float) -> LoginGate:
    config = MaintenanceSettings(pin_hash=pin_hash, **settings)  # type: ignore[arg-type]
    return LoginGate(lambda: config, verify_pin)


def test_pin_hash_verifies_only_its_pin() -> None:
    encoded = hash_pin("246810", iterations=FAST)
    assert is_pin_hash(encoded)
    assert verify_pin("246810", encoded)
    assert not verify_pin("246811", encoded)
    assert "246810" not in encoded
    assert hash_pin("246810", iterations=FAST) != encoded  # salted


B64 = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=30
)


@settings(max_examples=60)
@given(st.integers(1, 50), B64, B64)
def test_mangled_hashes_never_verify_nor_crash(iterations: int, salt: str, digest: str) -> None:
    assert not verify_pin("1234", f"pbkdf2_sha256${iterations}${salt}${digest}")


@pytest.mark.parametrize("pin", ["", "123", "2468", "abcdef", "1234567890123"])
def test_only_6_to_12_digit_pins(pin: str) -> None:
    with pytest.raises(ValueError, match="6 to 12 digits"):
        hash_pin(pin)


def test_no_pin_configured_keeps_maintenance_closed() -> None:
    with pytest.raises(MaintenanceDisabledError):
        gate().check_open(0.0)


def test_login_expires_and_logout_ends_it() -> None:
    login = gate(hash_pin("246810", iterations=FAST), login_minutes=1.0)
    token = login.record(login.verify("246810"), 100.0)
    assert login.seconds_left(token, 130.0) == 30.0
    with pytest.raises(NotLoggedInError):
        login.seconds_left(token, 160.0)
    token = login.record(True, 200.0)
    login.logout(token)
    with pytest.raises(NotLoggedInError):
        login.seconds_left(token, 201.0)


def test_repeated_wrong_pins_lock_out_for_a_while() -> None:
    login = gate(hash_pin("246810", iterations=FAST), max_failures=3, lockout_seconds=60.0)
    for _ in range(3):
        with pytest.raises(WrongPinError):
            login.record(login.verify("111111"), 10.0)
    with pytest.raises(LockedOutError, match="try again in 60 s"):
        login.record(True, 10.0)  # even the right PIN, during the lockout
    assert login.record(True, 71.0)


def test_lockouts_in_a_row_grow_and_survive_a_restart() -> None:
    login = gate(hash_pin("246810", iterations=FAST), max_failures=2, lockout_seconds=60.0)
    now = 0.0
    for expected in (60, 120, 240):
        for _ in range(2):
            with pytest.raises(WrongPinError):
                login.record(False, now)
        with pytest.raises(LockedOutError, match=f"try again in {expected} s"):
            login.check_open(now)
        now += expected
    restarted = gate(hash_pin("246810", iterations=FAST), max_failures=2, lockout_seconds=60.0)
    restarted.restore(login.lockout())
    for _ in range(2):
        with pytest.raises(WrongPinError):
            restarted.record(False, now)
    with pytest.raises(LockedOutError, match="try again in 480 s"):
        restarted.check_open(now)
    assert restarted.record(True, now + 480)  # a right PIN ends the escalation
    assert restarted.lockout()["lockouts"] == 0


def test_hash_tool_reads_the_pin_from_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "govkiosk.maintenance.pin"],
        input="135790\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert verify_pin("135790", result.stdout.strip())


def test_hash_tool_prints_the_toml_lines_with_todays_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "govkiosk.maintenance.pin", "--toml"],
        input="135790\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    hash_line, date_line = result.stdout.splitlines()
    assert verify_pin("135790", hash_line.split('"')[1])
    assert date_line == f'pin_set = "{datetime.date.today().isoformat()}"'
