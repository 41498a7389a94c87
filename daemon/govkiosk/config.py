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

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from .backends.settings import BackendsSettings
from .backup.settings import BackupSettings
from .devices.idcard.settings import IdCardSettings
from .devices.presence.settings import PresenceSettings
from .devices.qrscanner.settings import QrScannerSettings
from .devices.receipt.settings import ReceiptSettings
from .devices.ups.settings import CONSISTENT, UpsSettings, consistent
from .devices.usbseal.settings import UsbSection
from .errors import GovkioskError
from .fields import BUS_ADDRESS, matches, required, seconds, setting
from .items.session_settings import SessionSettings
from .maintenance.settings import MaintenanceSettings
from .ops.settings import COMPLETE, OpsSettings, complete
from .security.settings import SealSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the kiosks' Python 3.8
    import tomli as tomllib

DEFAULT_PATH = Path("/etc/govkiosk/govkiosk.toml")
DROPIN_DIR = "conf.d"

T = TypeVar("T")
KeyPath = Tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: {self.message}"
            if self.key
            else f"{self.file}: {self.message}"
        )


class ConfigError(GovkioskError):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class KioskSection:
    """Who this kiosk is. ``id`` is also the CN of its ops certificate."""

    id: str = required(
        expect="a kiosk id of 1-64 lower-case letters, digits or '-'",
        check=matches(r"[a-z0-9][a-z0-9-]{0,63}"),
    )
    name: str = "政务服务一体机"
    region: str = setting(
        "230000", expect="a six-digit administrative division code", check=matches(r"\d{6}")
    )
    language: Literal["zh_CN", "en"] = "zh_CN"


@dataclass(frozen=True)
class DaemonSection:
    """How the daemon runs."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    bus: str = setting(
        "system",
        expect='"system", "session" or a D-Bus address such as "unix:path=/run/bus"',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    restart_initial: float = seconds(1.0)
    restart_max: float = seconds(60.0)
    stop_timeout: float = setting(
        4.0, expect="a number of seconds between 0 and 5", check=lambda v: 0 < v <= 5
    )


ROLE = matches(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class StaticDevice:
    """A device udev cannot announce: on the network, or a simulator."""

    role: str = required(expect='a role name such as "idcard"', check=ROLE)
    port: str = required(
        expect='a device path or "socket://host:port"', check=lambda v: bool(v.strip())
    )


@dataclass(frozen=True)
class DevicesSection:
    static: Tuple[StaticDevice, ...] = ()
    usb: UsbSection = field(default_factory=UsbSection)


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
    backup: BackupSettings = field(default_factory=BackupSettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    backends: BackendsSettings = field(default_factory=BackendsSettings)
    seal: SealSettings = field(default_factory=SealSettings)
    ops: OpsSettings = field(
        default_factory=OpsSettings, metadata={"expect": COMPLETE, "check": complete}
    )
    session: SessionSettings = field(default_factory=SessionSettings)


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
    builder = _Builder(origins, _shown(path, path.parent))
    config = builder.build(Config, merged, ())
    if builder.problems:
        raise ConfigError(builder.problems)
    return config


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


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (str, bool, int, float)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Builder:
    """Turns the merged TOML document into dataclasses, collecting problems."""

    def __init__(self, origins: Mapping[KeyPath, str], main_file: str) -> None:
        self.origins = origins
        self.main_file = main_file
        self.problems: List[Problem] = []

    def fail(self, path: KeyPath, message: str) -> None:
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.origins:
                file = self.origins[path[:cut]]
                break
        else:
            file = self.main_file
        self.problems.append(Problem(file, ".".join(path), message))

    def build(self, cls: Type[T], table: Mapping[str, Any], path: KeyPath) -> T:
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for unknown in sorted(set(table) - set(fields)):
            self.fail((*path, unknown), f"unknown key (known keys: {', '.join(sorted(fields))})")
        before = len(self.problems)
        values: Dict[str, Any] = {}
        for name, spec in fields.items():
            key = (*path, name)
            if name not in table:
                if _has_default(spec):
                    continue
                self.fail(key, f"required, expected {spec.metadata.get('expect', 'a value')}")
                values[name] = None
                continue
            values[name] = self.convert(table[name], hints[name], key, spec.metadata)
        if len(self.problems) > before:
            return None  # type: ignore[return-value]  # never used: the load fails
        return cls(**values)

    def convert(self, value: Any, hint: Any, key: KeyPath, meta: Mapping[str, Any]) -> Any:
        expect = meta.get("expect")
        parse = meta.get("parse")
        if parse is not None:  # a field from fields.parsed(): the parser gives the reason
            try:
                return parse(value)
            except ValueError as err:
                self.fail(key, str(err))
                return None
        converted = self._typed(value, hint, key, expect)
        if converted is _INVALID:
            return None
        check = meta.get("check")
        if check is not None and not check(converted):
            self.fail(key, f"expected {expect}, got {_describe(value)}")
            return None
        return converted

    def _typed(self, value: Any, hint: Any, key: KeyPath, expect: Optional[str]) -> Any:
        origin = get_origin(hint)
        args = get_args(hint)
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                return self._wrong(key, "a table", value)
            return self.build(hint, value, key)  # type: ignore[arg-type]
        if origin is Union:
            inner = [a for a in args if a is not type(None)]
            return self._typed(value, inner[0], key, expect)
        if origin is Literal:
            if value in args and type(value) is type(args[0]):
                return value
            choices = " or ".join(json.dumps(a, ensure_ascii=False) for a in args)
            return self._wrong(key, choices, value)
        if origin in (tuple, Tuple):
            if not isinstance(value, list):
                return self._wrong(key, expect or "a list", value)
            items = [
                self._typed(item, args[0], (*key, str(i)), None) for i, item in enumerate(value)
            ]
            return _INVALID if any(i is _INVALID for i in items) else tuple(items)
        return self._scalar(value, hint, key, expect)

    def _scalar(self, value: Any, hint: Any, key: KeyPath, expect: Optional[str]) -> Any:
        if hint is bool:
            return (
                value
                if isinstance(value, bool)
                else self._wrong(key, expect or "true or false", value)
            )
        if isinstance(value, bool):
            return self._wrong(key, expect or _SCALAR_NAMES.get(hint, "a value"), value)
        if hint is float and isinstance(value, (int, float)):
            return float(value)
        if hint in (int, str) and isinstance(value, hint):
            return value
        return self._wrong(key, expect or _SCALAR_NAMES.get(hint, "a value"), value)

    def _wrong(self, key: KeyPath, expected: str, value: Any) -> Any:
        self.fail(key, f"expected {expected}, got {_describe(value)}")
        return _INVALID


_INVALID = object()
_SCALAR_NAMES = {int: "a whole number", float: "a number", str: "a string"}


def _has_default(spec: dataclasses.Field[Any]) -> bool:
    missing = dataclasses.MISSING
    return spec.default is not missing or spec.default_factory is not missing
