"""Typed configuration, loaded and validated once.

The main file (``/etc/govkiosk/govkiosk.toml`` unless ``--config`` says otherwise) is
read first, then every ``conf.d/*.toml`` beside it in name order; later files override
earlier ones key by key. The merged document is turned into frozen dataclasses whose
fields carry their own expectation, so every problem is reported with the file that
set the key, the key's dotted path and what was expected::

    conf.d/20-ups.toml: ups.poll_interval: expected a number of seconds > 0, got "fast"

All problems are collected and raised together as one :class:`ConfigError`, so an
integrator fixes a file in one pass.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Dict,
    List,
    Literal,
    Mapping,
    Tuple,
)

from .backends.settings import BackendsSettings
from .backup.settings import BackupSettings
from .devices.camera.settings import CameraSettings
from .devices.idcard.settings import IdCardSettings
from .devices.presence.settings import PresenceSettings
from .devices.qrscanner.settings import QrScannerSettings
from .devices.receipt.settings import ReceiptSettings
from .devices.roles import ROLES, address_problem, has_credentials, known_roles
from .devices.spec import shown
from .devices.ups.settings import CONSISTENT, UpsSettings, consistent
from .devices.usbseal.settings import UsbSection
from .docscan.settings import DocScanSettings
from .evaluation.settings import EvaluationSettings
from .faceverify.settings import CONSISTENT as FACE_CONSISTENT
from .faceverify.settings import FaceSettings
from .faceverify.settings import consistent as face_consistent
from .fields import BUS_ADDRESS, matches, required, seconds, setting
from .kiosk import KioskSection
from .maintenance.settings import MaintenanceSettings
from .ops.settings import COMPLETE, OpsSettings, complete
from .promo.settings import PromoSettings
from .security.settings import SealSettings
from .session.settings import SessionSettings
from .tables import Builder, ConfigError, KeyPath, Problem
from .upkeep.settings import ConsumablesSettings, SelfTestSettings
from .webapps.settings import WebAppsSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the kiosks' Python 3.8
    import tomli as tomllib

DEFAULT_PATH = Path("/etc/govkiosk/govkiosk.toml")
DROPIN_DIR = "conf.d"


LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class DaemonSection:
    """How the daemon runs."""

    #: The daemon's log level (the journal); no level logs personal data.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: The D-Bus the daemon offers its interfaces on (the UI and govkioskctl find it there):
    #: "system" on a kiosk, where the packaged D-Bus policy admits the UI; "session" or an explicit
    #: address for development and tests. `govkioskd --bus` overrides it.
    bus: str = setting(
        "system",
        expect='"system", "session" or a D-Bus address such as "unix:path=/run/bus"',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    #: Seconds the daemon waits before restarting a service (a device driver, the ops link, the face
    #: worker…) that failed; each further failure in a row doubles the wait up to `restart_max`. A
    #: service that ran for a minute starts again from this wait. Lower it only on a test bench.
    restart_initial: float = seconds(1.0)
    #: The longest wait, in seconds, between two restarts of a service that keeps failing (an
    #: unplugged printer, an unreachable UPS server). A device that comes back is in use again at
    #: most this long afterwards; a larger value writes fewer log lines.
    restart_max: float = seconds(60.0)
    #: Seconds the daemon waits for its services to stop (all of them on `systemctl stop`; one when
    #: a reload removes it or its device is unplugged) before it gives up waiting and logs which did
    #: not. At most 5, so that the daemon stops within systemd's TimeoutStopSec (10 s).
    stop_timeout: float = setting(
        4.0, expect="a number of seconds between 0 and 5", check=lambda v: 0 < v <= 5
    )


ROLE = matches(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class StaticDevice:
    """A device udev cannot announce: on the network, or a simulator."""

    #: What the device is for: one of the known roles (the reference lists them).
    role: str = required(
        expect=f"a known role ({known_roles()})", check=lambda value: value in ROLES
    )
    #: Where it is: a /dev/ path, socket://host:port, nut://host[:port]/ups (ups),
    #: http(s)://, rtsp:// or file:/// (cameras). Credentials go in their own keys.
    port: str = required(
        expect='a device path or "socket://host:port"', check=lambda v: bool(v.strip())
    )

    def config_problems(self) -> List[Tuple[str, str]]:
        problem = address_problem(self.role, self.port)
        return (
            [] if problem is None else [("port", f"{problem}, got {json.dumps(shown(self.port))}")]
        )


@dataclass(frozen=True)
class DevicesSection:
    #: Devices udev cannot announce, one ``[[devices.static]]`` table each.
    static: Tuple[StaticDevice, ...] = ()
    #: USB sealing and the port map.
    usb: UsbSection = field(default_factory=UsbSection)

    def config_problems(self) -> List[Tuple[str, str]]:
        unknown = [
            f"{rule.source}:{rule.line}: unknown role {json.dumps(rule.role)}"
            for rule in self.usb.rules.rules
            if rule.action == "allow" and rule.role and rule.role not in ROLES
        ]
        return [("usb.rules", f"{u} (known roles: {known_roles()})") for u in unknown]


@dataclass(frozen=True)
class Config:
    """The whole configuration. Sections are added here as subsystems need them."""

    kiosk: KioskSection
    daemon: DaemonSection = field(default_factory=DaemonSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    receipt: ReceiptSettings = field(default_factory=ReceiptSettings)
    presence: PresenceSettings = field(default_factory=PresenceSettings)
    qrscanner: QrScannerSettings = field(default_factory=QrScannerSettings)
    ups: UpsSettings = field(
        default_factory=UpsSettings, metadata={"expect": CONSISTENT, "check": consistent}
    )
    idcard: IdCardSettings = field(default_factory=IdCardSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    backends: BackendsSettings = field(default_factory=BackendsSettings)
    seal: SealSettings = field(default_factory=SealSettings)
    ops: OpsSettings = field(
        default_factory=OpsSettings, metadata={"expect": COMPLETE, "check": complete}
    )
    session: SessionSettings = field(default_factory=SessionSettings)
    docscan: DocScanSettings = field(default_factory=DocScanSettings)
    face: FaceSettings = field(
        default_factory=FaceSettings,
        metadata={"expect": FACE_CONSISTENT, "check": face_consistent},
    )
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    promo: PromoSettings = field(default_factory=PromoSettings)
    selftest: SelfTestSettings = field(default_factory=SelfTestSettings)
    consumables: ConsumablesSettings = field(default_factory=ConsumablesSettings)
    webapps: WebAppsSettings = field(default_factory=WebAppsSettings)


def config_files(path: Path) -> List[Path]:
    """The main file followed by its drop-ins, in the order they are applied."""
    dropins = path.parent / DROPIN_DIR
    return [path, *sorted(dropins.glob("*.toml"))] if dropins.is_dir() else [path]


def load_config(path: Path = DEFAULT_PATH) -> Config:
    """Read, merge and validate; raise :class:`ConfigError` naming every problem."""
    merged: Dict[str, Any] = {}
    origins: Dict[KeyPath, str] = {}
    problems: List[Problem] = []
    for file in config_files(path):
        shown = _shown(file, path.parent)
        try:
            with file.open("rb") as handle:
                document = tomllib.load(handle)
        except FileNotFoundError:
            problems.append(Problem(shown, "", "no such file"))
            continue
        except OSError as err:
            problems.append(Problem(shown, "", f"cannot be read: {err.strerror}"))
            continue
        except tomllib.TOMLDecodeError as err:
            problems.append(Problem(shown, "", f"not valid TOML: {err}"))
            continue
        except UnicodeDecodeError:
            problems.append(Problem(shown, "", "not valid TOML: the file is not UTF-8"))
            continue
        _merge(merged, document, shown, origins, ())
    if problems:
        raise ConfigError(problems)
    builder = Builder(origins, _shown(path, path.parent))
    config = builder.build(Config, merged, ())
    if builder.problems:
        raise ConfigError(builder.problems)
    return config


def machine_problems(config: Config) -> List[str]:
    """What the configuration asks of this machine that it lacks (files, libraries):
    checked by ``--check-config``, not at every load."""
    # Imported here: the checks bring numpy and OpenCV, which loading a config does not need.
    from .faceverify import checks  # noqa: PLC0415

    found = checks.problems(config.face)
    secret = config.ups.password_file
    if secret is not None and not os.access(secret, os.R_OK):
        found.append(f"[ups] password_file {secret}: cannot be read")
    return found


def config_warnings(config: Config) -> List[str]:
    """What still works but is deprecated: printed by ``--check-config``, logged at start."""
    return [
        f"devices.static.{i}.port {json.dumps(shown(entry.port))}: credentials in the URL are"
        " deprecated; "
        + (
            "set [ups] user and password_file (or password) instead"
            if entry.role == "ups"
            else "they are masked where the port is shown, but keep this file mode 0640"
        )
        for i, entry in enumerate(config.devices.static)
        if has_credentials(entry.port)
    ]


def _shown(file: Path, base: Path) -> str:
    try:
        return str(file.relative_to(base))
    except ValueError:
        return str(file)


def _merge(
    into: Dict[str, Any],
    document: Mapping[str, Any],
    origin: str,
    origins: Dict[KeyPath, str],
    prefix: KeyPath,
) -> None:
    for key, value in document.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origin, origins, path)
            continue
        into[key] = _copy_tables(value)
        origins[path] = origin


def _copy_tables(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_tables(v) for k, v in value.items()}
    return value
