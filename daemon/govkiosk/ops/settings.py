"""``[ops]``: the kiosk's link to the site broker and the operators it trusts.

The section is optional: without ``host`` the kiosk runs without remote operations
(fully offline, as it always can). Operator keys are pinned here, one
``[[ops.operators]]`` table per key (``govkioskctl fleet keys export`` prints them), so
rotating a key is adding the new table, then removing the old one.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import List, Literal, Optional, Tuple

from ..fields import BUS_ADDRESS, key_id_field, positive, required, setting
from ..gm import sm2
from ..gm.errors import GmError
from .roles import ROLES

SECONDS = "a number of seconds > 0"


@dataclass(frozen=True)
class OperatorKey:
    """One pinned operator public key and the roles it may sign for (§8 a)."""

    #: The name of the operator key, as the command envelopes carry it (`govkioskctl fleet keys
    #: export` prints it).
    key_id: str = key_id_field()
    #: The operator's public key, base64, as `govkioskctl fleet keys export` prints it: the raw
    #: Ed25519 key (32 bytes) or the SM2 point (65 bytes, 04‖x‖y); commands signed by its
    #: private key are accepted.
    public_key: str = required(
        expect="a base64 Ed25519 (32 bytes) or SM2 (65 bytes) public key",
        check=lambda value: len(_decoded(value)) in (32, 65),
    )
    #: The roles this key may sign commands for (§8 a), separated by duty: viewer (watches),
    #: operator (the day's maintenance), admin (configuration, catalogue, restarts), auditor (reads
    #: the ops log). Give each key the least it needs.
    roles: Tuple[str, ...] = required(
        expect=f"a list of roles among {', '.join(ROLES)}",
        check=lambda roles: bool(roles) and all(r in ROLES for r in roles),
    )
    #: The key's signature algorithm: "ed25519", or "sm2-sm3" (SM2 with SM3, GB/T 32918) for
    #: sites assessed for national cryptography. Commands signed with this key must name it.
    algorithm: Literal["ed25519", "sm2-sm3"] = "ed25519"

    def config_problems(self) -> List[Tuple[str, str]]:
        raw = _decoded(self.public_key)
        if self.algorithm == "ed25519" and len(raw) != 32:
            return [("public_key", "an Ed25519 key is 32 bytes (is algorithm wrong?)")]
        if self.algorithm == "sm2-sm3":
            try:
                sm2.PublicKey.from_bytes(raw)
            except GmError as err:
                return [("public_key", f"not an SM2 public key: {err}")]
        return []


def _decoded(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


#: One broker address: a host name or IPv4 address, a colon, a port.
SERVER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}:([1-9][0-9]{0,4})")


def _server(value: str) -> bool:
    match = SERVER.fullmatch(value)
    return match is not None and int(match.group(1)) < 65536


@dataclass(frozen=True)
class OpsSettings:
    host: str = ""  #: the site broker; empty (and no `servers`): no remote operations
    #: The site broker's MQTT-over-TLS port.
    port: int = setting(8883, expect="a TCP port", check=lambda p: 0 < p < 65536)
    #: The nodes of a clustered broker, each "host:port" (docs/fleet-cluster.md); the kiosk starts
    #: at a random one and moves to the next when a connection fails or breaks. When set, `host`
    #: and `port` are not used.
    servers: Tuple[str, ...] = setting(
        (),
        expect='a list of broker addresses "host:port"',
        check=lambda values: all(_server(v) for v in values) and len(set(values)) == len(values),
    )
    ca: str = ""  #: the site CA certificate (PEM) the broker's certificate is checked against
    cert: str = ""  #: this kiosk's client certificate; its CN must be ``kiosk.id``
    key: str = ""  #: its private key; it also signs the kiosk's replies
    operators: Tuple[OperatorKey, ...] = ()
    #: Seconds between two health reports to ops (services, devices, UPS, printers and paper, disk)
    #: while the link is up; nothing is queued for telemetry while offline.
    telemetry_interval: float = setting(30.0, expect=SECONDS, check=positive)
    #: Messages (replies, alarms, events) kept in the state database while the broker cannot be
    #: reached; beyond this the oldest are dropped and the number dropped is reported. Raise it for
    #: kiosks often offline for long.
    queue_limit: int = setting(
        1000, expect="a whole number of queued messages >= 10", check=lambda v: v >= 10
    )
    #: Alarms kept in the queue while the broker cannot be reached: a repeat of an alarm still
    #: waiting (same source, code and subject) is counted in it rather than queued; beyond this
    #: many the oldest cleared alarms are dropped first, then the oldest others, and an
    #: `ops.alarms_dropped` alarm tells ops how many.
    alarm_queue_limit: int = setting(
        200, expect="a whole number of queued alarms >= 10", check=lambda v: v >= 10
    )
    #: Seconds the ops and kiosk clocks may differ: a command's validity window is widened by this
    #: much, and answered commands are remembered that much longer to catch replays. Keep the kiosk
    #: on NTP and this small.
    clock_skew: float = setting(
        60.0, expect="seconds >= 0 allowed between the ops and kiosk clocks", check=lambda v: v >= 0
    )
    #: The longest, in seconds, a command may stay valid from its issue; a command signed to last
    #: longer is refused, so a captured command cannot be replayed days later.
    max_validity: float = setting(
        86400.0,
        expect="seconds > 0: the longest a command may stay valid from its issue",
        check=positive,
    )
    #: Commands per second one operator key may send on average; beyond it (and the `command_burst`)
    #: commands are refused as rate_limited, so no key can keep the kiosk busy.
    command_rate: float = setting(
        10.0, expect="commands per second > 0 one operator key may send", check=positive
    )
    #: Commands one operator key may send at once before `command_rate` applies (a fleet tool's
    #: batch).
    command_burst: int = setting(
        30,
        expect="a whole number >= 1 of commands one key may send at once",
        check=lambda v: v >= 1,
    )
    #: The largest command, in bytes, the kiosk reads; larger ones are refused unread. Raise it only
    #: for large `config.set` or promotion manifests.
    max_payload: int = setting(65536, expect="a number of bytes >= 1024", check=lambda v: v >= 1024)
    #: The MQTT keepalive in seconds: the broker and the kiosk notice a dead link after about one
    #: and a half times this.
    keepalive: int = setting(30, expect="whole seconds >= 5", check=lambda v: v >= 5)
    #: Seconds before the first reconnection attempt after the link to the broker broke; each
    #: further failure doubles the wait (with some randomness) up to `reconnect_max`.
    reconnect_initial: float = setting(1.0, expect=SECONDS, check=positive)
    #: The longest wait, in seconds, between two reconnection attempts, so a fleet does not hammer a
    #: broker coming back.
    reconnect_max: float = setting(60.0, expect=SECONDS, check=positive)
    #: Seconds the broker has to accept a connection (TLS, then MQTT's CONNACK) before the kiosk
    #: gives up and tries the next address: a cluster node that lost its peers holds a
    #: connection without an answer while it waits for a new leader. Kept for two rounds of every
    #: address, then doubled after each further round that failed, up to 30 s.
    connect_timeout: float = setting(3.0, expect=SECONDS, check=positive)
    #: After the broker refused our certificate: do not hammer it.
    auth_retry: float = setting(300.0, expect=SECONDS, check=positive)
    #: How long config.set waits for every service to be healthy before rolling back.
    settle_time: float = setting(10.0, expect=SECONDS, check=positive)
    #: Where the UI is reached for ops' `screenshot` and `ui.restart` commands: the bus the UI runs
    #: on ("system" on a kiosk).
    ui_bus: str = setting(
        "system",
        expect='"system", "session" or a D-Bus address',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    #: Where systemd-logind is reached for ops' `reboot` command: "system" on a kiosk; another
    #: address only for tests.
    logind_bus: str = setting(
        "system",
        expect='"system" or a D-Bus address',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    #: reboot logs and publishes RebootRequested instead of asking logind.
    dry_run: bool = False
    #: Seconds the UI has to take a screenshot for ops' `screenshot` command before it fails.
    screenshot_timeout: float = setting(10.0, expect=SECONDS, check=positive)
    #: How the kiosk signs its replies and events to ops: "ecdsa-p256-sha256" with the key of its
    #: TLS client certificate (`key`), or "sm2-sm3" (SM2 with SM3, GB/T 32918) with `reply_key`,
    #: for sites assessed for national cryptography.
    reply_algorithm: Literal["ecdsa-p256-sha256", "sm2-sm3"] = "ecdsa-p256-sha256"
    #: The kiosk's SM2 reply private key (PEM), used when `reply_algorithm` is "sm2-sm3"
    #: (`govkioskctl fleet ca issue-kiosk --sm2-reply` makes it).
    reply_key: str = ""
    #: The kiosk's SM2 reply certificate (PEM), issued by the site's SM2 signing CA with the kiosk
    #: id as its name; ops checks SM2-signed replies against it.
    reply_cert: str = ""

    def config_problems(self) -> List[Tuple[str, str]]:
        if self.reply_algorithm == "sm2-sm3" and not (self.reply_key and self.reply_cert):
            return [("reply_algorithm", '"sm2-sm3" needs reply_key and reply_cert')]
        return []

    @property
    def enabled(self) -> bool:
        return bool(self.host or self.servers)

    @property
    def addresses(self) -> List[Tuple[str, int]]:
        """Every broker address the kiosk may use, in configuration order."""
        if self.servers:
            return [(h, int(p)) for h, _, p in (v.rpartition(":") for v in self.servers)]
        return [(self.host, self.port)] if self.host else []

    def operator(self, key_id: str) -> Optional[OperatorKey]:
        return next((k for k in self.operators if k.key_id == key_id), None)


def complete(settings: OpsSettings) -> bool:
    """With a broker (`host` or `servers`), TLS files are required: never in clear text."""
    return not settings.enabled or bool(settings.ca and settings.cert and settings.key)


COMPLETE = "ca, cert and key set whenever host or servers is"
