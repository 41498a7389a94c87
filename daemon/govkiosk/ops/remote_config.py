"""Which configuration keys ``config.set`` may change, and which need two admins (pure).

Only keys the daemon reads while it runs are remotely settable: a key read only at start
(a static device's port, the D-Bus address) would be accepted now and break the kiosk at
its next restart, out of reach of the repair. Keys that decide who may unlock the kiosk or
what it trusts — USB maintenance operators and sealing, the maintenance PIN and its
lockout, the seal's trust anchors, the department backends, the URL printed on receipts —
also need a second signature, by another pinned admin key, over the same change (the
two-person rule). Paths in those must be absolute, plain, and inside the configuration
directory. Everything else (``[ops]``, ``kiosk.id``, device ports, spool and backup
directories, credentials) is a change made at the kiosk.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from ..contract.logs import printable
from ..errors import GovkioskError
from .envelope import ID, canonical
from .settings import OpsSettings
from .signing import operator_valid

#: Section → keys ops may set with one admin's signature.
REMOTE: Dict[str, Tuple[str, ...]] = {
    "kiosk": ("name", "region", "language"),
    "daemon": ("log_level",),
    "session": (
        "identity_timeout",
        "consent_timeout",
        "preview_timeout",
        "answer_timeout",
        "query_timeout",
        "seal_timeout",
        "print_timeout",
        "receipt_timeout",
        "session_timeout",
        "walkaway_timeout",
        "extend_by",
        "extend_offer",
        "max_extensions",
        "print_poll_interval",
        "preview_dpi",
    ),
    "receipt": (
        "status_timeout",
        "job_timeout",
        "poll_interval",
        "idle_poll_interval",
        "connect_timeout",
        "paper_width_chars",
        "max_queued_jobs",
    ),
    "presence": ("arrive_after", "leave_after", "max_distance_cm", "silence_timeout"),
    "ups": (
        "poll_interval",
        "timeout",
        "battery_voltage_low",
        "battery_voltage_high",
        "full_load_runtime",
        "grace_period",
        "low_runtime",
        "mains_hysteresis",
        "drain_timeout",
        "final_delay",
    ),
    "idcard": ("poll_interval", "sam_check_interval", "exchange_timeout"),
    "qrscanner": ("scan_timeout", "max_length"),
    "maintenance": ("login_minutes", "alarms_kept"),
    "backup": ("keep",),
    "devices.usb": ("reconcile_interval", "maintenance_max_minutes"),
}
#: Section → keys that also need a second admin's signature ("*": the whole section).
TWO_PERSON: Dict[str, Tuple[str, ...]] = {
    "devices.usb": ("operators", "seal"),
    "maintenance": ("pin_hash", "max_failures", "lockout_seconds"),
    "seal": ("*",),
    "backends": ("*",),
    "session": ("verify_url",),
}
#: Keys whose values are file paths (a string or a list of strings).
PATHS = {"seal.trusted", "backends.key_file"}
#: What the second signature covers, before the canonical JSON of kiosk, cmd_id and values.
COSIGN_CONTEXT = b"govkiosk config.set cosign\n"


class RemoteConfigError(GovkioskError):
    """A ``config.set`` that may not be made remotely, or not by one admin."""


@dataclass(frozen=True)
class Cosign:
    key_id: str
    sig: bytes


def keys(values: Mapping[str, Any], prefix: str = "") -> Iterator[Tuple[str, str, Any]]:
    """``(section, key, value)`` for every leaf of ``values``; sections may nest
    (``devices.usb``), arrays of tables count as one value."""
    for name, value in values.items():
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, Mapping):
            yield from keys(value, path)
        else:
            section, _, key = path.rpartition(".")
            yield section, key, value


def classify(values: Mapping[str, Any]) -> Tuple[List[str], List[str]]:
    """The keys that may not be set remotely, and the keys that need a second admin."""
    refused: List[str] = []
    two_person: List[str] = []
    for section, key, _value in keys(values):
        # Key names come from the command: escaped and cut before they reach a reply or log.
        dotted = printable(f"{section}.{key}" if section else key, 64)
        if key in REMOTE.get(section, ()):
            continue
        allowed = TWO_PERSON.get(section, ())
        if key in allowed or "*" in allowed:
            two_person.append(dotted)
        else:
            refused.append(dotted)
    return refused, two_person


def path_problems(values: Mapping[str, Any], config_dir: str) -> List[str]:
    """Path values that are relative, not plain (``..``, ``//``) or outside ``config_dir``."""
    problems = []
    for section, key, value in keys(values):
        dotted = f"{section}.{key}"
        if dotted not in PATHS:
            continue
        for path in value if isinstance(value, list) else [value]:
            plain = isinstance(path, str) and posixpath.normpath(path) == path
            inside = plain and path.startswith(config_dir.rstrip("/") + "/")
            if not (plain and posixpath.isabs(path) and inside):
                problems.append(f"{dotted}: expected an absolute path inside {config_dir}")
    return problems


def cosigned_bytes(kiosk_id: str, cmd_id: str, values: Mapping[str, Any]) -> bytes:
    """What the second admin signs: this change, for this kiosk, under this cmd_id only."""
    return COSIGN_CONTEXT + canonical({"kiosk_id": kiosk_id, "cmd_id": cmd_id, "values": values})


def parse_cosign(document: Any) -> Optional[Cosign]:
    if document is None:
        return None
    if not isinstance(document, Mapping) or set(document) != {"key_id", "sig"}:
        raise RemoteConfigError("cosign: expected {key_id, sig}")
    key_id, sig = document["key_id"], document["sig"]
    if not isinstance(key_id, str) or not ID.fullmatch(key_id) or not isinstance(sig, str):
        raise RemoteConfigError("cosign: expected a key id and a base64 signature")
    try:
        return Cosign(key_id, base64.b64decode(sig, validate=True))
    except (binascii.Error, ValueError):
        raise RemoteConfigError("cosign: sig is not base64") from None


def check(
    values: Mapping[str, Any],
    cosign: Optional[Cosign],
    *,
    kiosk_id: str,
    cmd_id: str,
    signer_key_id: str,
    settings: OpsSettings,
    config_dir: str,
) -> None:
    """Raise :class:`RemoteConfigError` unless ops may make this change as sent."""
    refused, two_person = classify(values)
    if refused:
        raise RemoteConfigError(
            f"not settable remotely (a change at the kiosk): {', '.join(sorted(refused))}"
        )
    problems = path_problems(values, config_dir)
    if problems:
        raise RemoteConfigError("; ".join(problems))
    if not two_person:
        return
    needs = ", ".join(sorted(two_person))
    if cosign is None:
        raise RemoteConfigError(f"{needs}: needs a second admin's signature (cosign)")
    if cosign.key_id == signer_key_id:
        raise RemoteConfigError(f"{needs}: the second signature must be another admin's key")
    second = settings.operator(cosign.key_id)
    if second is None or "admin" not in second.roles:
        raise RemoteConfigError(f"cosign: no admin key pinned as {cosign.key_id!r}")
    signed = cosigned_bytes(kiosk_id, cmd_id, values)
    if not operator_valid(second.algorithm, second.public_key, signed, cosign.sig):
        raise RemoteConfigError("cosign: the second signature does not verify")
