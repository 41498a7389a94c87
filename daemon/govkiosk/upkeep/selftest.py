"""The self-test's checks: none disturbs a citizen or prints anything (pure but for the disk).

Each check returns a :class:`~.store.CheckResult` whose detail names services, devices
and figures, never a person. What the checks look at is handed in as a :class:`Probe`,
filled by the service from the supervisor, the device registry and the bus.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

from ..devices.camera.settings import ROLES as CAMERA_ROLES
from ..supervisor import ServiceHealth
from .settings import SelfTestSettings
from .store import CheckResult

#: Receipt printer states in which it can print (``PrinterState`` values).
PRINTER_OK = ("ready", "paper_low")
UPS_ROLE = "ups"
RECEIPT_ROLE = "receipt_printer"


@dataclass
class Probe:
    """What the self-test reads; every callable answers at once, without I/O."""

    services: Callable[[], Sequence[ServiceHealth]]
    devices: Callable[[], Sequence[Mapping[str, str]]]
    state_dir: Path
    #: device id → (printer state, detail), the newest the receipt driver published
    printers: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    #: device id → whether the UPS driver's newest reading is stale (no longer current)
    ups_stale: Dict[str, bool] = field(default_factory=dict)
    #: service names the self-test does not judge (itself)
    ignore: Tuple[str, ...] = ()


def check_services(probe: Probe) -> CheckResult:
    failing = [
        f"{h.name} {h.state.value}" + (f" ({h.detail})" if h.detail else "")
        for h in probe.services()
        if h.name not in probe.ignore and not h.healthy
    ]
    if failing:
        return CheckResult("services", False, "not running: " + "; ".join(sorted(failing)))
    return CheckResult("services", True, f"{len(probe.services())} services running")


def check_devices(probe: Probe) -> CheckResult:
    bad: List[str] = []
    count = 0
    for row in probe.devices():
        driver = row.get("driver", "")
        if not driver or driver == "none":  # no driver for this role, or sealed
            continue
        count += 1
        if not driver.startswith("running"):
            bad.append(f"{row.get('id', '?')} ({row.get('role', '?')}): {driver}")
    if bad:
        return CheckResult("devices", False, "drivers not running: " + "; ".join(bad))
    return CheckResult("devices", True, f"{count} device drivers running")


def check_printers(probe: Probe) -> CheckResult:
    receipts = [r["id"] for r in probe.devices() if r.get("role") == RECEIPT_ROLE]
    if not receipts:
        return CheckResult("printers", True, "no receipt printer configured")
    bad: List[str] = []
    for device in receipts:
        state, detail = probe.printers.get(device, ("unknown", "no status read yet"))
        if state not in PRINTER_OK:
            bad.append(f"{device}: {state}" + (f" ({detail})" if detail else ""))
    if bad:
        return CheckResult("printers", False, "; ".join(bad))
    return CheckResult(
        "printers", True, ", ".join(f"{d}: {probe.printers[d][0]}" for d in receipts)
    )


def check_ups(probe: Probe) -> CheckResult:
    upses = [r["id"] for r in probe.devices() if r.get("role") == UPS_ROLE]
    if not upses:
        return CheckResult("ups", True, "no UPS configured")
    bad: List[str] = []
    for device in upses:
        stale = probe.ups_stale.get(device)
        if stale is None:
            bad.append(f"{device}: no reading")
        elif stale:
            bad.append(f"{device}: reading stale (the UPS or upsd stopped answering)")
    if bad:
        return CheckResult("ups", False, "; ".join(bad))
    return CheckResult("ups", True, f"{len(upses)} UPS reading fresh")


def check_cameras(probe: Probe) -> CheckResult:
    cameras = [r for r in probe.devices() if r.get("role") in CAMERA_ROLES]
    if not cameras:
        return CheckResult("cameras", True, "no camera configured")
    bad = [
        f"{r.get('id', '?')}: {r.get('driver', '')}"
        for r in cameras
        if not r.get("driver", "").startswith("running")
    ]
    if bad:
        return CheckResult("cameras", False, "not answering: " + "; ".join(bad))
    return CheckResult("cameras", True, f"{len(cameras)} cameras answering")


def check_disk(probe: Probe, settings: SelfTestSettings) -> CheckResult:
    try:
        usage = shutil.disk_usage(str(probe.state_dir))
    except OSError as err:
        return CheckResult("disk", False, f"state directory unreadable: {err.strerror}")
    free_mb = usage.free // (1024 * 1024)
    passed = free_mb >= settings.disk_min_mb
    word = "free" if passed else f"free, below {settings.disk_min_mb} MB"
    return CheckResult("disk", passed, f"{free_mb} MB {word}")


def run_checks(probe: Probe, settings: SelfTestSettings) -> Tuple[CheckResult, ...]:
    """Every check, in a fixed order; blocking (the disk): run off the event loop."""
    return (
        check_services(probe),
        check_devices(probe),
        check_printers(probe),
        check_ups(probe),
        check_cameras(probe),
        check_disk(probe, settings),
    )
