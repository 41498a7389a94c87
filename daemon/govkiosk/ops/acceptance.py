"""The acceptance report of ``govkioskctl check`` on its way to ops (§6.4.2, §8).

The engineer's tool writes and signs the report with the kiosk's Ed25519 key (``[backends]
key_file``) and hands it to the daemon (``Maintenance1.SubmitAcceptance``); the daemon
checks the signature and that nothing in it is personal data, keeps it under
``<state dir>/reports/`` and publishes :class:`AcceptanceSubmitted`; the ops service sends
it as the event ``evt/acceptance`` through its outbox, so a kiosk that is offline sends it
when the link comes back. The payload carries the report's exact bytes (base64) and their
Ed25519 signature, and the whole message is signed again with the kiosk's certificate key
like every reply (:meth:`.signing.KioskSigner.seal_document`): ops checks that against the
certificate of the kiosk's retained ``state``, and the inner signature against the key the
departments enrolled.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..bus import Event
from ..contract.logs import looks_personal
from ..errors import GovkioskError

KIND = "govkiosk-acceptance-report"
#: Under the state directory, where ``govkioskctl check`` keeps them.
REPORTS = "reports"
EVENT = "acceptance"
#: The file names ``govkioskctl check`` gives its reports.
NAME = re.compile(r"acceptance-[A-Za-z0-9_.-]{1,64}-\d{8}T\d{6}\.json")
#: A report is a page of checks; anything near this is not one.
MAX_BYTES = 1 << 20
_TOP = {
    "kind",
    "kiosk_id",
    "kiosk_name",
    "hall",
    "versions",
    "operator",
    "time",
    "result",
    "stages",
    "checks",
    "signed_by",
}
#: A check's keys (``cli.acceptance.Check``; an item's row adds its test mode and reference).
_CHECK = {"stage", "name", "status", "detail", "fix", "mode", "reference"}


class AcceptanceError(GovkioskError):
    """A report that is not kept nor sent: unsigned by this kiosk, malformed, or personal."""


@dataclass(frozen=True)
class AcceptanceSubmitted(Event):
    """A signed acceptance report the daemon checked and kept; ops sends it on."""

    name: str
    report: bytes  #: the JSON file's exact bytes
    signature: bytes  #: Ed25519 over ``report`` by the kiosk's key
    key_id: str


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def problems(report: Any) -> List[str]:
    """Why ``report`` (the parsed JSON) is not an acceptance report fit to leave the kiosk:
    the wrong shape, or a text that looks like personal data (an ID or phone number)."""
    if not isinstance(report, dict):
        return ["not a JSON object"]
    found = []
    if report.get("kind") != KIND:
        found.append(f"kind is not {KIND}")
    unknown = sorted(set(report) - _TOP)
    if unknown:
        found.append(f"unknown keys: {', '.join(unknown)}")
    checks = report.get("checks")
    if not isinstance(checks, list) or not all(
        isinstance(c, dict) and set(c) <= _CHECK for c in checks
    ):
        found.append("checks: expected a list of {stage, name, status, detail, fix, …}")
    if any(looks_personal(text) for text in _strings(report)):
        found.append("a text in it looks like personal data (an ID or a phone number)")
    return found


def check(
    name: str, data: bytes, signature_b64: str, key: Ed25519PublicKey, kiosk_id: str
) -> bytes:
    """The signature's bytes once ``data`` is a report of this kiosk, signed by its key,
    with no personal data; raise :class:`AcceptanceError` naming what is wrong."""
    if NAME.fullmatch(name) is None:
        raise AcceptanceError(f"{name!r} is not a report's name (acceptance-<kiosk>-<time>.json)")
    if len(data) > MAX_BYTES:
        raise AcceptanceError(f"{name}: {len(data)} bytes is too large for a report")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, data)
    except (binascii.Error, ValueError, InvalidSignature):
        raise AcceptanceError(f"{name}: the signature is not the kiosk's") from None
    try:
        report = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise AcceptanceError(f"{name}: not JSON: {err}") from None
    found = problems(report)
    if not isinstance(report, dict) or report.get("kiosk_id") != kiosk_id:
        found.append(f"kiosk_id is not {kiosk_id}")
    if found:
        raise AcceptanceError(f"{name}: " + "; ".join(found))
    return signature


def keep(directory: Path, name: str, data: bytes) -> Path:
    """The report under ``directory`` (``govkioskctl check`` usually wrote it there
    already); a different file of the same name is not replaced."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if path.exists():
        if path.read_bytes() != data:
            raise AcceptanceError(f"{name}: a different report of that name is kept already")
        return path
    scratch = path.with_suffix(".tmp")
    scratch.write_bytes(data)
    scratch.replace(path)
    return path


def document(
    event: AcceptanceSubmitted, kiosk_id: str, message_id: str, at: float
) -> Dict[str, Any]:
    """The body of ``evt/acceptance`` (before the kiosk's certificate signature)."""
    return {
        "id": message_id,
        "kiosk_id": kiosk_id,
        "at": at,
        "name": event.name,
        "report": base64.b64encode(event.report).decode("ascii"),
        "signature": {
            "alg": "ed25519",
            "key_id": event.key_id,
            "value": base64.b64encode(event.signature).decode("ascii"),
        },
    }
