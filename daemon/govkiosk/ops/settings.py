"""``[ops]``: the kiosk's link to the site broker and the operators it trusts.

The section is optional: without ``host`` the kiosk runs without remote operations
(fully offline, as it always can). Operator keys are pinned here, one
``[[ops.operators]]`` table per key (``govkioskctl fleet keys export`` prints them), so
rotating a key is adding the new table, then removing the old one.
"""

from __future__ import annotations

import base64
import binascii
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

    key_id: str = key_id_field()
    #: The key as `govkioskctl fleet keys export` prints it: base64 of the raw Ed25519 key
    #: (32 bytes) or of the SM2 point (65 bytes, 04‖x‖y).
    public_key: str = required(
        expect="a base64 Ed25519 (32 bytes) or SM2 (65 bytes) public key",
        check=lambda value: len(_decoded(value)) in (32, 65),
    )
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


@dataclass(frozen=True)
class OpsSettings:
    host: str = ""  #: the site broker; empty: no remote operations
    port: int = setting(8883, expect="a TCP port", check=lambda p: 0 < p < 65536)
    ca: str = ""  #: the site CA certificate (PEM) the broker's certificate is checked against
    cert: str = ""  #: this kiosk's client certificate; its CN must be ``kiosk.id``
    key: str = ""  #: its private key; it also signs the kiosk's replies
    operators: Tuple[OperatorKey, ...] = ()
    telemetry_interval: float = setting(30.0, expect=SECONDS, check=positive)
    queue_limit: int = setting(
        1000, expect="a whole number of queued messages >= 10", check=lambda v: v >= 10
    )
    clock_skew: float = setting(
        60.0, expect="seconds >= 0 allowed between the ops and kiosk clocks", check=lambda v: v >= 0
    )
    max_validity: float = setting(
        86400.0,
        expect="seconds > 0: the longest a command may stay valid from its issue",
        check=positive,
    )
    command_rate: float = setting(
        10.0, expect="commands per second > 0 one operator key may send", check=positive
    )
    command_burst: int = setting(
        30,
        expect="a whole number >= 1 of commands one key may send at once",
        check=lambda v: v >= 1,
    )
    max_payload: int = setting(65536, expect="a number of bytes >= 1024", check=lambda v: v >= 1024)
    keepalive: int = setting(30, expect="whole seconds >= 5", check=lambda v: v >= 5)
    reconnect_initial: float = setting(1.0, expect=SECONDS, check=positive)
    reconnect_max: float = setting(60.0, expect=SECONDS, check=positive)
    #: After the broker refused our certificate: do not hammer it.
    auth_retry: float = setting(300.0, expect=SECONDS, check=positive)
    #: How long config.set waits for every service to be healthy before rolling back.
    settle_time: float = setting(10.0, expect=SECONDS, check=positive)
    ui_bus: str = setting(
        "system",
        expect='"system", "session" or a D-Bus address',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    logind_bus: str = setting(
        "system",
        expect='"system" or a D-Bus address',
        check=lambda value: BUS_ADDRESS.fullmatch(value) is not None,
    )
    #: reboot logs and publishes RebootRequested instead of asking logind.
    dry_run: bool = False
    screenshot_timeout: float = setting(10.0, expect=SECONDS, check=positive)

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def operator(self, key_id: str) -> Optional[OperatorKey]:
        return next((k for k in self.operators if k.key_id == key_id), None)


def complete(settings: OpsSettings) -> bool:
    """With a broker, TLS files are required: the link is never in clear text."""
    return not settings.enabled or bool(settings.ca and settings.cert and settings.key)


COMPLETE = "ca, cert and key set whenever host is"
