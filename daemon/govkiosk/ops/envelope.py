"""The signed command envelope and the kiosk's signed replies (pure: no I/O).

A command (ops → kiosk, on ``kiosk/v1/{kiosk}/cmd/req``)::

    {v, cmd_id, kiosk_id, method, params, issued_at, not_before, expires_at,
     nonce, issuer, role, key_id, preconditions, sig}

``sig`` is Ed25519 by the operator's key over :func:`signed_bytes`: the topic, a line
feed, and the canonical JSON (sorted keys, no spaces, UTF-8) of every other field. The
topic is inside the signature so a command cannot be moved to another kiosk's topic.

A reply (kiosk → ops, on ``…/cmd/res/{reply_to}/{cmd_id}``: :func:`reply_topic`; the
command's optional ``reply_to`` names the operator certificate's CN, so the broker's ACL
shows an operator only the replies to their own commands) is signed the same way with the
kiosk's certificate key (ECDSA P-256, SHA-256): ops checks it against the kiosk's
certificate, which the CA signed and whose CN is the kiosk id.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from ..contract.logs import printable
from ..errors import GovkioskError

VERSION = 1
PREFIX = "kiosk/v1"
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: An id the kiosk puts into a topic level (``cmd_id``, ``reply_to``): no '.', which a NATS
#: cluster's MQTT refuses in a topic by closing the connection (docs/fleet-cluster.md) — a
#: reply queued under such a topic would break the link at every flush.
TOPIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: The fields that become topic levels.
IN_TOPICS = ("cmd_id", "reply_to")
METHOD = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")


def topic(kiosk_id: str, *parts: str) -> str:
    return "/".join((PREFIX, kiosk_id, *parts))


def reply_topic(kiosk_id: str, cmd_id: str, reply_to: str = "") -> str:
    """Where the kiosk answers a command: under its sender's CN when the command names it."""
    return topic(kiosk_id, "cmd", "res", *((reply_to,) if reply_to else ()), cmd_id)


class Reason(str, enum.Enum):
    """Why a command was refused, in the order the checks run."""

    OVERSIZED = "oversized"
    MALFORMED = "malformed"
    RETAINED = "retained"
    WRONG_KIOSK = "wrong_kiosk"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    RATE_LIMITED = "rate_limited"  #: the key sent more than [ops] command_rate allows
    BAD_VALIDITY = "bad_validity"  #: an inverted, too long, or future-issued validity window
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    CONFLICT = "conflict"  #: a known cmd_id with different content
    UNKNOWN_METHOD = "unknown_method"
    ROLE_DENIED = "role_denied"


class Status(str, enum.Enum):
    ACCEPTED = "ACCEPTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"

    @property
    def final(self) -> bool:
        return self is not Status.ACCEPTED


class EnvelopeError(GovkioskError):
    """A command refused before anything ran; ``reason`` says which check failed.

    ``command`` is set once its signature verified: only then does the kiosk answer with
    a signed REJECTED (bound to that command's digest). Before, the sender is unknown and
    a signed answer would make the kiosk an oracle for whoever can publish.
    """

    def __init__(
        self,
        reason: Reason,
        message: str,
        cmd_id: Optional[str] = None,
        command: Optional[Command] = None,
    ) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.detail = message
        self.cmd_id = cmd_id
        self.command = command


@dataclass(frozen=True)
class Command:
    v: int
    cmd_id: str
    kiosk_id: str
    method: str
    params: Dict[str, Any]
    issued_at: float
    not_before: float
    expires_at: float
    nonce: str
    issuer: str
    role: str
    key_id: str
    sig: bytes
    preconditions: Dict[str, Any] = field(default_factory=dict)
    reply_to: str = ""
    #: The signature's algorithm (signing.OPERATOR_ALGORITHMS); empty: Ed25519.
    sig_alg: str = ""

    def body(self) -> Dict[str, Any]:
        """Every field but ``sig``: what the signature covers."""
        optional = {"reply_to": self.reply_to} if self.reply_to else {}
        if self.sig_alg:
            optional["sig_alg"] = self.sig_alg
        return {
            **optional,
            "v": self.v,
            "cmd_id": self.cmd_id,
            "kiosk_id": self.kiosk_id,
            "method": self.method,
            "params": self.params,
            "issued_at": self.issued_at,
            "not_before": self.not_before,
            "expires_at": self.expires_at,
            "nonce": self.nonce,
            "issuer": self.issuer,
            "role": self.role,
            "key_id": self.key_id,
            "preconditions": self.preconditions,
        }

    def digest(self) -> str:
        """What makes two deliveries "the same command"; every reply carries it."""
        return body_digest(self.body())


def body_digest(body: Mapping[str, Any]) -> str:
    """SHA-256 of a command's canonical body (every field but ``sig``), in hex."""
    return hashlib.sha256(canonical(body)).hexdigest()


def canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def signed_bytes(topic_name: str, body: Mapping[str, Any]) -> bytes:
    return topic_name.encode("utf-8") + b"\n" + canonical(body)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_FIELDS: Dict[str, Any] = {
    "v": int,
    "cmd_id": str,
    "kiosk_id": str,
    "method": str,
    "params": dict,
    "issued_at": (int, float),
    "not_before": (int, float),
    "expires_at": (int, float),
    "nonce": str,
    "issuer": str,
    "role": str,
    "key_id": str,
    "sig": str,
}
_OPTIONAL = {"preconditions": dict, "reply_to": str, "sig_alg": str}
#: The algorithms a command may name (signing.OPERATOR_ALGORITHMS).
SIG_ALGS = ("ed25519", "sm2-sm3")


def parse_command(payload: bytes, max_size: int) -> Command:
    """Bytes from the broker → :class:`Command`, or :class:`EnvelopeError` (oversized, malformed).

    Only shape is checked here; who signed it and whether it is for us come after.
    """
    if len(payload) > max_size:
        raise EnvelopeError(Reason.OVERSIZED, f"{len(payload)} bytes, limit {max_size}")
    try:
        document = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise EnvelopeError(Reason.MALFORMED, f"not UTF-8 JSON: {err}") from None
    if not isinstance(document, dict):
        raise EnvelopeError(Reason.MALFORMED, "not a JSON object")
    raw_id = document.get("cmd_id")
    cmd_id = raw_id if isinstance(raw_id, str) and TOPIC_ID.fullmatch(raw_id) else None
    problem = _shape_problem(document)
    if problem:
        raise EnvelopeError(Reason.MALFORMED, problem, cmd_id)
    try:
        canonical({k: v for k, v in document.items() if k != "sig"})
    except ValueError:  # 1e999 reads as infinity, which has no canonical form
        raise EnvelopeError(Reason.MALFORMED, "a number out of range", cmd_id) from None
    try:
        sig = base64.b64decode(document["sig"], validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(Reason.MALFORMED, "sig: not base64", cmd_id) from None
    return Command(
        v=document["v"],
        cmd_id=document["cmd_id"],
        kiosk_id=document["kiosk_id"],
        method=document["method"],
        params=document["params"],
        issued_at=document["issued_at"],
        not_before=document["not_before"],
        expires_at=document["expires_at"],
        nonce=document["nonce"],
        issuer=document["issuer"],
        role=document["role"],
        key_id=document["key_id"],
        sig=sig,
        preconditions=document.get("preconditions", {}),
        reply_to=document.get("reply_to", ""),
        sig_alg=document.get("sig_alg", ""),
    )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _shape_problem(document: Dict[str, Any]) -> str:
    unknown = sorted(set(document) - set(_FIELDS) - set(_OPTIONAL))
    if unknown:
        # Names chosen by whoever published: escaped and cut before anyone reads them.
        shown = ", ".join(printable(name, 32) for name in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        return f"unknown field(s): {shown}{more}"
    for name, kind in {**_FIELDS, **_OPTIONAL}.items():
        if name not in document:
            if name in _FIELDS:
                return f"{name}: missing"
            continue
        value = document[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            return f"{name}: wrong type"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name}: not a finite number"
    if document["v"] != VERSION:
        return f"v: version {document['v']} not supported (this kiosk speaks {VERSION})"
    for name in ("cmd_id", "kiosk_id", "key_id", "nonce", "reply_to"):
        pattern, allowed = (TOPIC_ID, "'_'") if name in IN_TOPICS else (ID, "'.', '_'")
        if name in document and not pattern.fullmatch(document[name]):
            return f"{name}: expected 1-64 letters, digits, {allowed} or '-'"
    if document.get("sig_alg", "ed25519") not in SIG_ALGS:
        return f"sig_alg: expected one of {', '.join(SIG_ALGS)}"
    if not METHOD.fullmatch(document["method"]):
        return "method: not a method name"
    if len(document["issuer"]) > 128 or len(document["role"]) > 32:
        return "issuer or role: too long"
    return ""


@dataclass(frozen=True)
class Reply:
    """The kiosk's answer to one command; ``sig`` fills in when signed."""

    cmd_id: str
    kiosk_id: str
    status: Status
    at: float
    result: Dict[str, Any] = field(default_factory=dict)
    reason: str = ""  #: a :class:`Reason` value for REJECTED
    detail: str = ""  #: for people: why it failed or was refused
    method: str = ""
    #: :meth:`Command.digest` of the command answered: a reply to another command
    #: that reused the cmd_id is not an answer to this one.
    cmd_digest: str = ""

    def body(self) -> Dict[str, Any]:
        return {
            "v": VERSION,
            "cmd_id": self.cmd_id,
            "kiosk_id": self.kiosk_id,
            "method": self.method,
            "status": self.status.value,
            "at": self.at,
            "result": self.result,
            "reason": self.reason,
            "detail": self.detail,
            "cmd_digest": self.cmd_digest,
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Reply:
        try:
            return cls(
                cmd_id=str(body["cmd_id"]),
                kiosk_id=str(body["kiosk_id"]),
                status=Status(body["status"]),
                at=float(body["at"]),
                result=dict(body.get("result") or {}),
                reason=str(body.get("reason", "")),
                detail=str(body.get("detail", "")),
                method=str(body.get("method", "")),
                cmd_digest=str(body.get("cmd_digest", "")),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise EnvelopeError(Reason.MALFORMED, f"reply: {err}") from None
