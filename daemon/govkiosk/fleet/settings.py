"""The fleet metrics service's own TOML file (``govkioskctl fleet serve --config``).

A small file apart from any kiosk's configuration: the broker and the watcher's TLS
files, the HTTP address Prometheus scrapes, and the caps that keep label cardinality
and memory bounded. Built by :class:`~govkiosk.tables.Builder` like the kiosk's
configuration, so every problem names the file, the key and what was expected::

    /etc/govkiosk-fleet/metrics.toml: limits.items_max: expected an integer >= 1, got 0
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Tuple

from ..fields import seconds, setting
from ..tables import Builder, ConfigError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the kiosks' Python 3.8
    import tomli as tomllib

DEFAULT_PATH = Path("/etc/govkiosk-fleet/metrics.toml")
DEFAULT_PORT = 9720


def _port(value: int) -> bool:
    return 0 < value < 65536


def _at_least(low: int) -> Callable[[int], bool]:
    return lambda value: value >= low


@dataclass(frozen=True)
class BrokerSettings:
    #: The site broker (or a cluster node) the service subscribes to.
    host: str = setting("", expect="a host name or address", check=bool)
    #: Its MQTT-over-TLS port.
    port: int = setting(8883, expect="a TCP port", check=_port)
    #: The site CA certificate (PEM) the broker's certificate is checked against. A relative
    #: name (as in these three) is in systemd's credentials directory (the unit's
    #: ``LoadCredential=``), else beside this file.
    ca: str = setting("", expect="the path of the site CA certificate", check=bool)
    #: The service's client certificate: a read-only identity (CN ``ops-metrics`` in the
    #: shipped ACL), never one that may send commands.
    cert: str = setting("", expect="the path of a client certificate", check=bool)
    #: Its private key.
    key: str = setting("", expect="the path of a private key", check=bool)
    #: MQTT client id; empty: the certificate's CN (mosquitto's ``use_username_as_clientid``
    #: makes it so anyway). The session is persistent: alarms published while the service
    #: restarts are delivered when it is back.
    client_id: str = ""
    #: First wait before reconnecting after the broker went away; doubles up to
    #: ``reconnect_max``.
    reconnect_initial: float = seconds(1.0)
    reconnect_max: float = seconds(30.0)
    keepalive: int = setting(30, expect="a number of seconds >= 5", check=lambda v: v >= 5)


@dataclass(frozen=True)
class HttpSettings:
    #: The address Prometheus scrapes (``/metrics``, ``/healthz``); loopback unless a
    #: Prometheus on another machine scrapes it (then firewall it to that machine).
    listen: str = setting("127.0.0.1", expect="an address to listen on", check=bool)
    port: int = setting(
        DEFAULT_PORT, expect="a TCP port (0: any free port)", check=lambda p: 0 <= p < 65536
    )


@dataclass(frozen=True)
class Limits:
    """Caps: label cardinality and the model's memory stay bounded whatever kiosks send."""

    #: Per-kiosk series (``govkiosk_kiosk_*{kiosk=…}``: up, healthy, alarms, paper,
    #: availability, version) while the fleet has at most this many kiosks; above it only
    #: fleet-wide series are served (``govkiosk_fleet_exporter_kiosk_labels`` is 0).
    kiosk_labels_max: int = setting(2000, expect="an integer >= 0", check=_at_least(0))
    #: Kiosks followed at most; messages from further kiosk ids are counted and dropped.
    kiosks_max: int = setting(100000, expect="an integer >= 1", check=_at_least(1))
    #: Item codes with a label of their own (sessions, 好差评); further codes are ``other``.
    items_max: int = setting(100, expect="an integer >= 1", check=_at_least(1))
    #: The catalogue's item codes, if known: only these get a label of their own (a kiosk
    #: cannot crowd them out with made-up codes). Empty: the first ``items_max`` seen.
    items: Tuple[str, ...] = ()
    #: Alarm codes with a label of their own; further codes are ``other``.
    alarm_codes_max: int = setting(64, expect="an integer >= 1", check=_at_least(1))
    #: govkiosk versions with a label of their own; further versions are ``other``.
    versions_max: int = setting(16, expect="an integer >= 1", check=_at_least(1))
    #: Characters kept of a label value a kiosk sends (item code, alarm code, version).
    label_length_max: int = setting(64, expect="an integer >= 8", check=_at_least(8))
    #: Bytes of one message read at most; larger ones are dropped unread.
    payload_max: int = setting(262144, expect="a number of bytes >= 1024", check=_at_least(1024))


@dataclass(frozen=True)
class ModelSettings:
    #: An alarm no message cleared (a later ``info`` alarm from the same source clears
    #: it) stops counting as active after this many seconds.
    alarm_ttl: float = seconds(86400.0)
    #: A kiosk whose last telemetry is older than this is not counted as healthy
    #: (3 × the kiosks' ``[ops] telemetry_interval`` and a margin).
    stale_after: float = seconds(100.0)
    #: The window of ``govkiosk_fleet_online_ratio``, sampled every ``uptime_sample`` seconds.
    uptime_window: float = seconds(86400.0)
    uptime_sample: float = seconds(60.0)


@dataclass(frozen=True)
class FleetServeSettings:
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    limits: Limits = field(default_factory=Limits)
    model: ModelSettings = field(default_factory=ModelSettings)

    def config_problems(self) -> List[Tuple[str, str]]:
        if self.model.uptime_sample > self.model.uptime_window:
            return [("model", "uptime_sample must not be longer than uptime_window")]
        return []


def load(path: Path) -> FleetServeSettings:
    """Read and check ``path``; :class:`ConfigError` naming every problem."""
    shown = str(path)
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError([Problem(shown, "", "no such file")]) from None
    except OSError as err:
        raise ConfigError([Problem(shown, "", f"cannot be read: {err.strerror}")]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([Problem(shown, "", f"not valid TOML: {err}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem(shown, "", "not valid TOML: the file is not UTF-8")]) from None
    builder = Builder({}, shown)
    settings = builder.build(FleetServeSettings, document, ())
    if builder.problems:
        raise ConfigError(builder.problems)
    return resolved(settings, Path(os.environ.get("CREDENTIALS_DIRECTORY") or path.parent))


def resolved(settings: FleetServeSettings, base: Path) -> FleetServeSettings:
    """Relative TLS file names taken from ``base``: systemd's credentials directory
    (``LoadCredential=`` in the shipped unit, so a dynamic user reads its key), else the
    configuration file's directory."""

    def where(name: str) -> str:
        return str(base / name) if name and not Path(name).is_absolute() else name

    broker = settings.broker
    broker = dataclasses.replace(
        broker, ca=where(broker.ca), cert=where(broker.cert), key=where(broker.key)
    )
    return dataclasses.replace(settings, broker=broker)


def settings_problems(settings: FleetServeSettings) -> List[str]:
    """What ``serve`` needs that a file may leave out (the broker's address and files)."""
    missing = [name for name in ("host", "ca", "cert", "key") if not getattr(settings.broker, name)]
    return [f"broker.{name}: required to serve" for name in missing]
