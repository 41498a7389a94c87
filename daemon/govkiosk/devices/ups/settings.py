"""``[ups]``: how the UPS is read and how the staged shutdown behaves (§6.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ...fields import BUS_ADDRESS, matches, positive, seconds, setting

VOLTS = "a battery voltage in volts > 0, as the UPS reports it (per cell or whole pack)"


def _at_least_zero(value: float) -> bool:
    return value >= 0


@dataclass(frozen=True)
class UpsSettings:
    """Defaults follow upsmon where it has one (poll every 5 s, FINALDELAY 5 s)."""

    #: Seconds between two readings of the UPS (a Q1 query on a serial line, or a poll of NUT's
    #: upsd). The loss of mains power is noticed at most this late; upsmon's default is 5.
    poll_interval: float = seconds(5.0)
    #: Seconds the UPS (or upsd, when connecting) has to answer one request; no answer in time fails
    #: the driver, which the daemon restarts and reports. Raise it for slow serial UPSes.
    timeout: float = seconds(3.0)
    # Megatec/Q1 gives neither charge nor runtime: they are estimated from these.
    battery_voltage_low: float = setting(20.4, expect=VOLTS, check=positive)
    #: The battery voltage, in volts, of a fully charged battery (Megatec/Q1 only; NUT reports the
    #: charge itself); the charge is read linearly between `battery_voltage_low` and this. Use the
    #: unit the UPS reports: some report per cell, most the whole pack (27.0 for a 24 V pack).
    battery_voltage_high: float = setting(27.0, expect=VOLTS, check=positive)
    #: Seconds a full battery lasts at 100 % load, from the UPS's data sheet (Megatec/Q1 only). The
    #: runtime is estimated from it, the charge and the load (a load under 10 % counts as 10 %), and
    #: compared with `low_runtime`.
    full_load_runtime: float = seconds(300.0)
    # The staged shutdown (govkiosk.power).
    grace_period: float = setting(
        60.0,
        expect="a number of seconds >= 0 on battery before shutting down",
        check=_at_least_zero,
    )
    #: On battery, a runtime estimate below this many seconds starts the shutdown at once (no new
    #: sessions, then out of service, then power-off) without waiting out `grace_period`. Set it
    #: above `drain_timeout` + `final_delay` plus the time the operating system needs to power off.
    low_runtime: float = setting(
        120.0, expect="a runtime in seconds >= 0 below which to shut down", check=_at_least_zero
    )
    #: Seconds mains power must stay back before a shutdown in progress is cancelled and the kiosk
    #: serves again; a flickering supply then neither flaps the on-battery banner nor restarts the
    #: grace period.
    mains_hysteresis: float = setting(
        10.0, expect="seconds >= 0 mains must stay back to cancel a shutdown", check=_at_least_zero
    )
    #: During a shutdown, the longest wait, in seconds, for the citizen's session and any print in
    #: progress to finish before the screen shows out of service anyway.
    drain_timeout: float = setting(
        120.0, expect="seconds >= 0 to let a print in progress finish", check=_at_least_zero
    )
    #: Seconds the screen shows out of service before the kiosk is powered off (and between two
    #: attempts if the power-off fails).
    final_delay: float = setting(
        5.0, expect="seconds >= 0 out of service before power-off", check=_at_least_zero
    )
    dry_run: bool = False  #: log and publish the power-off instead of asking logind
    #: Where systemd-logind, which powers the kiosk off, is reached: "system" on a kiosk; another
    #: address only for tests with a stand-in logind.
    logind_bus: str = setting(
        "system",
        expect='"system" or a D-Bus address such as "unix:path=/run/dbus/system_bus_socket"',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    #: The NUT account (upsd.users) to log in as. (The old nut://user:pass@host/ups
    #: form still works but is deprecated: the password would show wherever the port does.)
    user: Optional[str] = setting(
        None, expect="a NUT user name without spaces", check=matches(r"[^\s\"]{1,64}")
    )
    #: Its password; better kept in password_file or a conf.d file of mode 0640.
    password: Optional[str] = setting(
        None, expect="a NUT password without line breaks", check=matches(r"[^\r\n]{1,128}")
    )
    #: A file (absolute path, readable by the daemon) whose first line is the password.
    password_file: Optional[str] = setting(
        None, expect="an absolute path", check=lambda value: value.startswith("/")
    )
    #: How long a battery self-test may take to report its outcome (NUT's quick test,
    #: Megatec's 10-second ``T``).
    self_test_timeout: float = seconds(90.0)
    #: How often the outcome is read while the test runs.
    self_test_poll: float = seconds(1.0)


#: What a whole ``[ups]`` section must satisfy beyond each key (checked by config.py).
CONSISTENT = (
    "battery_voltage_high above battery_voltage_low, a password or password_file (not both)"
    " only with a user"
)


def consistent(settings: Optional[UpsSettings]) -> bool:
    if settings is None:  # its keys had problems, reported already
        return True
    secrets = (settings.password is not None) + (settings.password_file is not None)
    return settings.battery_voltage_high > settings.battery_voltage_low and (
        secrets == 0 or (secrets == 1 and settings.user is not None)
    )
