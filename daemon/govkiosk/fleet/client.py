"""The ops side's connection: signed commands out, signed replies and fleet state in.

:class:`FleetClient` is one MQTT connection with an operator's client certificate;
:class:`FleetView` turns what kiosks publish (``state``, ``telemetry``, ``evt/…``) into
one row per kiosk. Replies are trusted only when their signature verifies against the
kiosk's certificate, which must be issued by the site CA with the kiosk id as CN — or,
for a kiosk that signs with SM2 (``[ops] reply_algorithm = "sm2-sm3"``), against its SM2
reply certificate, which must be issued by the site's SM2 signing CA (``Identity.sm2_ca``)
with the kiosk id as its name. Such a kiosk's ECDSA-signed answers are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from secrets import token_hex
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import aiomqtt
from cryptography import x509

from ..contract.logs import printable
from ..errors import GovkioskError
from ..gm import certs as gm_certs
from ..ops.envelope import (
    VERSION,
    EnvelopeError,
    Reply,
    Status,
    b64,
    body_digest,
    reply_topic,
    topic,
)
from ..ops.link import NO_DELAY, SubscriptionRefused, end_attempt, refused
from ..ops.remote_config import cosigned_bytes
from ..ops.sealed import seal_for
from ..ops.signing import (
    OperatorSigner,
    SigningError,
    common_name,
    issued_by,
    load_certificate,
    load_sm2_reply_certificate,
    open_document,
    open_reply,
)
from ..timeouts import wait_for

#: Default lifetime of a command: long enough for a kiosk to come back from a short outage.
VALIDITY = 300.0
#: Alarm ids remembered per kiosk to count a redelivered alarm once.
ALARM_IDS_KEPT = 256
#: Seconds without any answer before the same signed command is published again: a broker
#: that dropped it (a flooded kiosk's queue was full) gets it again, and the kiosk, which
#: answers a repeated command from its ledger, runs it once.
RESEND = 1.0
#: A device's ``driver`` (its service's health, or ``none`` for a device without one, e.g.
#: a sealed USB port) when nothing is wrong with it; its ``state`` (static, authorized,
#: sealed) says how it came to be there, not whether it works.
SOUND_DRIVERS = ("running", "starting", "none")


class FleetError(GovkioskError):
    """The fleet cannot be reached, or a kiosk's answer cannot be trusted."""


@dataclass(frozen=True)
class Identity:
    """How the operator reaches the broker: address and TLS files."""

    host: str
    port: int
    ca: Path
    cert: Path
    key: Path
    #: The site's SM2 signing CA (PEM): kiosks' SM2 reply certificates are checked against it.
    sm2_ca: Optional[Path] = None

    def tls(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cafile=str(self.ca))
            context.load_cert_chain(str(self.cert), str(self.key))
        except (OSError, ssl.SSLError) as err:
            raise FleetError(f"TLS files: {err}") from err
        return context


@dataclass
class KioskRow:
    kiosk_id: str
    online: Optional[bool] = None
    last_seen: float = 0.0
    healthy: Optional[bool] = None
    services: str = ""
    devices_faulty: int = 0
    alarms: int = 0
    last_alarm: str = ""
    #: The ids of the alarms counted lately: one sent again after a reconnect counts once.
    alarm_ids: Deque[str] = field(default_factory=lambda: deque(maxlen=ALARM_IDS_KEPT), repr=False)
    version: str = ""
    lag: float = 0.0  #: seconds from the kiosk's ``at`` to our receipt of its telemetry
    certificate: Optional[x509.Certificate] = field(default=None, repr=False)
    #: The kiosk's SM2 reply certificate (asn1crypto), checked against the SM2 signing CA.
    reply_certificate: Optional[Any] = field(default=None, repr=False)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "kiosk_id": self.kiosk_id,
            "online": self.online,
            "last_seen": self.last_seen,
            "healthy": self.healthy,
            "services": self.services,
            "devices_faulty": self.devices_faulty,
            "alarms": self.alarms,
            "last_alarm": self.last_alarm,
            "version": self.version,
        }


class FleetView:
    """What the fleet said last, per kiosk. Pure: fed messages, read as rows."""

    def __init__(self, ca: Optional[x509.Certificate] = None, sm2_ca: Optional[Any] = None) -> None:
        self._ca = ca
        self._sm2_ca = sm2_ca
        self.kiosks: Dict[str, KioskRow] = {}
        self.messages = 0

    def row(self, kiosk_id: str) -> KioskRow:
        row = self.kiosks.get(kiosk_id)
        if row is None:
            row = self.kiosks[kiosk_id] = KioskRow(kiosk_id)
        return row

    def handle(self, topic_name: str, payload: bytes, now: float) -> Optional[KioskRow]:
        parts = topic_name.split("/")
        if len(parts) < 4 or parts[0] != "kiosk" or parts[1] != "v1" or not payload:
            return None
        try:
            document = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(document, dict):
            return None
        self.messages += 1
        row = self.row(parts[2])
        kind = parts[3]
        try:
            if kind == "state":
                self._state(row, document)
            elif kind == "telemetry":
                self._telemetry(row, document, now)
            elif kind == "evt" and len(parts) == 5 and parts[4] == "alarm":
                alarm_id = str(document.get("id", ""))
                if alarm_id and alarm_id in row.alarm_ids:
                    return row  # delivered again (at least once): already counted
                row.alarm_ids.append(alarm_id)
                row.alarms += 1
                row.last_alarm = f"{document.get('severity', '')}:{document.get('code', '')}"
            else:
                return row
        except (AttributeError, TypeError, ValueError):
            return None  # a document of the wrong shape says nothing about the kiosk
        row.last_seen = now
        return row

    def _state(self, row: KioskRow, document: Dict[str, Any]) -> None:
        row.online = bool(document.get("online"))
        row.version = str(document.get("version", row.version))
        pem = document.get("cert")
        if isinstance(pem, str) and pem:
            try:
                certificate = load_certificate(pem.encode("ascii"))
            except (SigningError, UnicodeEncodeError):
                return
            if (
                common_name(certificate) == row.kiosk_id
                and (self._ca is None or issued_by(certificate, self._ca))
                and _valid_now(certificate)
            ):
                row.certificate = certificate
        reply_pem = document.get("reply_cert")
        row.reply_certificate = None  # a kiosk back on ECDSA publishes none
        if self._sm2_ca is not None and isinstance(reply_pem, str) and reply_pem:
            try:
                row.reply_certificate = load_sm2_reply_certificate(
                    reply_pem.encode("utf-8"), row.kiosk_id, self._sm2_ca
                )
            except SigningError:
                row.reply_certificate = None  # SM2 replies from it are refused

    def _telemetry(self, row: KioskRow, document: Dict[str, Any], now: float) -> None:
        row.online = True
        row.healthy = bool(document.get("healthy"))
        services = document.get("services") or []
        running = sum(1 for s in services if s.get("state") == "running")
        row.services = f"{running}/{len(services)}"
        row.devices_faulty = sum(
            1 for d in document.get("devices") or [] if d.get("driver") not in SOUND_DRIVERS
        )
        at = document.get("at")
        if isinstance(at, (int, float)):
            row.lag = now - at

    def rows(self) -> List[KioskRow]:
        return [self.kiosks[k] for k in sorted(self.kiosks)]


def command_body(
    signer: OperatorSigner,
    kiosk_id: str,
    method: str,
    params: Dict[str, Any],
    *,
    role: str,
    issuer: str,
    now: float,
    validity: float = VALIDITY,
    cmd_id: Optional[str] = None,
    idle: bool = False,
    reply_to: str = "",
) -> Dict[str, Any]:
    """An unsigned command; ``reply_to`` (the sender certificate's CN) keeps its replies
    readable by that certificate alone (``FleetClient.send`` fills it in)."""
    optional = {"reply_to": reply_to} if reply_to else {}
    return {
        **optional,
        "v": VERSION,
        "cmd_id": cmd_id or token_hex(8),
        "kiosk_id": kiosk_id,
        "method": method,
        "params": params,
        "issued_at": now,
        "not_before": now,
        "expires_at": now + validity,
        "nonce": token_hex(12),
        "issuer": issuer,
        "role": role,
        "key_id": signer.key_id,
        "preconditions": {"idle": True} if idle else {},
    }


def cosign(
    signer: OperatorSigner, kiosk_id: str, cmd_id: str, values: Dict[str, Any]
) -> Dict[str, str]:
    """A second admin's signature over one ``config.set`` (``params.cosign``)."""
    signature = signer.sign(cosigned_bytes(kiosk_id, cmd_id, values))
    return {"key_id": signer.key_id, "sig": b64(signature)}


def seal_command(signer: OperatorSigner, body: Dict[str, Any]) -> bytes:
    return signer.seal(topic(body["kiosk_id"], "cmd", "req"), body)


def seal_desired(
    signer: OperatorSigner, kiosk_id: str, parts: Dict[str, Any], *, role: str, issuer: str
) -> bytes:
    """A signed ``shadow/desired`` document (publish it retained)."""
    body = {
        "kiosk_id": kiosk_id,
        "issuer": issuer,
        "key_id": signer.key_id,
        "role": role,
        "issued_at": time.time(),
        **parts,
    }
    return signer.seal(topic(kiosk_id, "shadow", "desired"), body)


class FleetClient:
    """An operator's connection; ``async with FleetClient(identity) as fleet: …``."""

    def __init__(
        self, identity: Identity, *, client_id: Optional[str] = None, subscribe_all: bool = False
    ) -> None:
        self.identity = identity
        sm2_ca = None
        if identity.sm2_ca is not None:
            try:
                sm2_ca = gm_certs.load_certificate(identity.sm2_ca.read_bytes())
            except (OSError, GovkioskError) as err:
                raise FleetError(f"{identity.sm2_ca}: not the SM2 signing CA: {err}") from err
        self.view = FleetView(load_certificate(identity.ca), sm2_ca)
        #: Replies come to ``cmd/res/<this>/…``, which the ACL lets only this certificate read.
        self.reply_to = common_name(load_certificate(identity.cert))
        self._client = aiomqtt.Client(
            identity.host,
            identity.port,
            identifier=client_id or f"fleet-{token_hex(4)}",
            tls_context=identity.tls(),
            timeout=10,
            socket_options=NO_DELAY,
        )
        self._subscribe_all = subscribe_all
        self._replies: Dict[str, asyncio.Queue[Reply]] = {}
        #: Reply topic → the digest of the command we sent: only its answers count.
        self._sent: Dict[str, str] = {}
        #: Reply queue → (kiosk id, payload): what to publish again while nothing answers.
        self._payloads: Dict[asyncio.Queue[Reply], Tuple[str, bytes]] = {}
        self._reader: Optional[asyncio.Task[None]] = None
        self._states: Dict[str, asyncio.Event] = {}
        #: ``evt/update`` phases whose signature verified: (kiosk, version, phase, detail).
        self.updates: asyncio.Queue[Tuple[str, str, str, str]] = asyncio.Queue()

    async def __aenter__(self) -> FleetClient:
        try:
            await self._client.__aenter__()
        except aiomqtt.MqttError as err:
            end_attempt(self._client)
            raise FleetError(
                f"cannot reach {self.identity.host}:{self.identity.port}: {err}"
            ) from err
        try:
            if self._subscribe_all:
                for name in ("kiosk/v1/+/state", "kiosk/v1/+/telemetry", "kiosk/v1/+/evt/+"):
                    await self._subscribe(name)
            # Every reply to a command naming us, from any kiosk, on one subscription: on a
            # cluster each subscription is a replicated JetStream consumer, too slow to make
            # per command (docs/fleet-cluster.md).
            await self._subscribe(reply_topic("+", "+", self.reply_to))
        except BaseException:
            # Connected, but of no use: hang up now (the connection would stay until
            # collected), and let the refusal be what the caller sees.
            with contextlib.suppress(aiomqtt.MqttError):
                await self.__aexit__()
            raise
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader])
        try:
            await self._client.__aexit__(None, None, None)
        finally:
            end_attempt(self._client)

    async def _read(self) -> None:
        async for message in self._client.messages:
            name = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else b""
            parts = name.split("/")
            if len(parts) in (6, 7) and parts[3:5] == ["cmd", "res"]:
                self._on_reply(parts[2], name, payload)
                continue
            if len(parts) == 5 and parts[3:5] == ["evt", "update"]:
                self._on_update(parts[2], name, payload)
            row = self.view.handle(name, payload, time.time())
            if row is not None and parts[3] == "state" and row.kiosk_id in self._states:
                self._states[row.kiosk_id].set()

    def _on_reply(self, kiosk_id: str, name: str, payload: bytes) -> None:
        queue = self._replies.get(name)
        row = self.view.row(kiosk_id)
        certificate = row.certificate
        if queue is None or certificate is None:
            return
        try:
            reply = open_reply(payload, name, certificate, sm2_certificate=row.reply_certificate)
        except EnvelopeError:
            return  # a forged or damaged reply is no answer
        if reply.cmd_digest != self._sent.get(name):
            return  # an answer to another command that reused our cmd_id
        queue.put_nowait(reply)

    def _on_update(self, kiosk_id: str, name: str, payload: bytes) -> None:
        row = self.view.row(kiosk_id)
        certificate = row.certificate
        if certificate is None:
            return
        try:
            document = open_document(
                payload,
                name,
                certificate,
                "update event",
                sm2_certificate=row.reply_certificate,
            )
        except EnvelopeError:
            return  # forged or damaged: says nothing about the kiosk
        if document.get("kiosk_id") != kiosk_id:
            return
        self.updates.put_nowait(
            (
                kiosk_id,
                str(document.get("version", "")),
                str(document.get("phase", "")),
                str(document.get("detail", "")),
            )
        )

    async def follow_updates(self) -> None:
        """Receive every kiosk's ``evt/update`` into :attr:`updates`."""
        await self._subscribe("kiosk/v1/+/evt/update")

    async def _subscribe(self, name: str) -> None:
        """Subscribe, or :class:`FleetError` if the broker refused (no answer would come)."""
        try:
            refused(await self._client.subscribe(name, qos=1), name)
        except SubscriptionRefused as err:
            raise FleetError(f"{err}: not allowed, or the cluster is electing a leader") from err

    async def follow(self, kiosk_ids: Iterable[str], timeout: float = 5.0) -> None:
        """Learn each kiosk's certificate from its retained ``state``."""
        pending = []
        for kiosk_id in kiosk_ids:
            self._states.setdefault(kiosk_id, asyncio.Event())
            await self._subscribe(topic(kiosk_id, "state"))
            if self.view.row(kiosk_id).certificate is None:
                pending.append(self._states[kiosk_id].wait())
        if pending:
            await asyncio.wait([asyncio.ensure_future(p) for p in pending], timeout=timeout)

    async def send(self, signer: OperatorSigner, body: Dict[str, Any]) -> asyncio.Queue[Reply]:
        """Sign and publish ``body``; replies arrive in the returned queue.

        ``body`` gets this connection's ``reply_to`` if it names none: the command then
        carries it, signed, and its digest covers it.
        """
        body.setdefault("reply_to", self.reply_to)
        return await self.send_payload(body["kiosk_id"], body["cmd_id"], seal_command(signer, body))

    async def send_payload(
        self, kiosk_id: str, cmd_id: str, payload: bytes, *, retain: bool = False
    ) -> asyncio.Queue[Reply]:
        """Publish ``payload`` as a command to ``kiosk_id``; replies to ``cmd_id`` in the queue."""
        reply_to = _reply_to_of(payload)
        name = reply_topic(kiosk_id, cmd_id, reply_to)
        self._sent[name] = _digest_of(payload)
        queue = self._replies.get(name)
        if queue is None:
            if reply_to != self.reply_to:  # ours come on the subscription made at connect
                # Replies not addressed to us: the ACL may well refuse them (a cluster says
                # so in the SUBACK, mosquitto filters silently); nothing to wait for then.
                await self._client.subscribe(name, qos=1)
            queue = self._replies[name] = asyncio.Queue()
        await self._client.publish(topic(kiosk_id, "cmd", "req"), payload, qos=1, retain=retain)
        if not retain:
            self._payloads[queue] = (kiosk_id, payload)
        return queue

    async def final(self, queue: asyncio.Queue[Reply], timeout: float) -> Reply:
        """The first final reply (skipping ACCEPTED); ``asyncio.TimeoutError`` if none comes.

        Until the kiosk answers at all, the same signed command goes out again every
        :data:`RESEND` seconds (at least once delivery; the kiosk runs it once).
        """
        deadline = time.monotonic() + timeout
        answered = False
        while True:
            left = deadline - time.monotonic()
            wait = left if answered else min(left, RESEND)
            try:
                reply = await wait_for(queue.get(), max(0.0, wait))
            except asyncio.TimeoutError:
                if answered or left <= RESEND:
                    raise
                await self._resend(queue)
                continue
            answered = True
            if reply.status.final:
                return reply

    def _sealed(
        self, kiosk_id: str, cmd_id: str, secrets: Mapping[str, str]
    ) -> Dict[str, Dict[str, str]]:
        if not secrets:
            return {}
        certificate = self.view.row(kiosk_id).certificate
        if certificate is None:
            raise FleetError(f"{kiosk_id}: its certificate is not known yet: nothing can be sealed")
        return {name: seal_for(certificate, value, cmd_id) for name, value in secrets.items()}

    async def _resend(self, queue: asyncio.Queue[Reply]) -> None:
        sent = self._payloads.get(queue)
        if sent is not None:
            kiosk_id, payload = sent
            await self._client.publish(topic(kiosk_id, "cmd", "req"), payload, qos=1)

    async def run(
        self,
        signer: OperatorSigner,
        kiosk_ids: Sequence[str],
        method: str,
        params: Dict[str, Any],
        *,
        role: str,
        issuer: str,
        timeout: float,
        idle: bool = False,
        cmd_id: Optional[str] = None,
        secrets: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, Optional[Reply]]:
        """Send to every kiosk at once and wait for each final reply (``None``: none in time).

        ``secrets`` are parameters sealed for each kiosk and command (:mod:`~govkiosk.ops.sealed`):
        only that kiosk can read them.
        """
        await self.follow(kiosk_ids)
        now = time.time()
        queues = {}
        for kiosk_id in kiosk_ids:
            command_id = cmd_id or token_hex(8)
            sealed = self._sealed(kiosk_id, command_id, secrets or {})
            body = command_body(
                signer,
                kiosk_id,
                method,
                {**params, **sealed},
                role=role,
                issuer=issuer,
                now=now,
                idle=idle,
                cmd_id=command_id,
            )
            queues[kiosk_id] = await self.send(signer, body)

        async def one(queue: asyncio.Queue[Reply]) -> Optional[Reply]:
            try:
                return await self.final(queue, timeout)
            except asyncio.TimeoutError:
                return None

        replies = await asyncio.gather(*(one(q) for q in queues.values()))
        return dict(zip(queues, replies))


#: What to do about each refusal, for people at a terminal.
HINTS = {
    "oversized": "the command is larger than the kiosk's [ops] max_payload",
    "malformed": "the command is not a valid envelope (a bug in the sender)",
    "retained": "commands must never be published retained",
    "wrong_kiosk": "the envelope's kiosk_id and topic must name the kiosk",
    "unknown_key": "pin this key on the kiosk: govkioskctl fleet keys export, into its [ops]",
    "bad_signature": "the signature does not match the key pinned under this key id",
    "not_yet_valid": "the kiosk's clock is behind: check its time sync",
    "expired": "the command expired (or the kiosk's clock is ahead): send it again",
    "replayed": "this nonce was used before: send a new command",
    "conflict": "this cmd_id was already used for another command",
    "unknown_method": "the kiosk does not know this method (an older version?)",
    "role_denied": "use a key pinned for a role allowed this method",
    "bad_validity": "commands must be issued before they are valid and live at most the kiosk's"
    " [ops] max_validity",
}


def describe(kiosk_id: str, reply: Optional[Reply]) -> str:
    """One line (two with a hint) for a terminal: what the kiosk said is escaped."""
    if reply is None:
        return f"{kiosk_id}: no answer in time (offline? the command stays queued until it expires)"
    if reply.status is Status.SUCCEEDED:
        return f"{kiosk_id}: SUCCEEDED"
    detail = printable(reply.detail)
    if reply.status is Status.REJECTED:
        hint = HINTS.get(reply.reason, "")
        return f"{kiosk_id}: REJECTED ({printable(reply.reason, 32)}): {detail}" + (
            f"\n  hint: {hint}" if hint else ""
        )
    return f"{kiosk_id}: {reply.status.value}: {detail}"


def _reply_to_of(payload: bytes) -> str:
    """The ``reply_to`` a command names, if it can be read."""
    try:
        document = json.loads(payload.decode("utf-8"))
        return str(document.get("reply_to", ""))
    except (UnicodeDecodeError, ValueError, AttributeError):
        return ""


def _digest_of(payload: bytes) -> str:
    """The digest of the command in ``payload``, as the kiosk computes it."""
    try:
        document = json.loads(payload.decode("utf-8"))
        document.pop("sig")
        return body_digest(document)
    except (UnicodeDecodeError, ValueError, KeyError, AttributeError, TypeError):
        return ""  # not a command: nothing can answer it


def _valid_now(certificate: x509.Certificate) -> bool:
    """Within its validity period: an expired kiosk certificate signs no answer we take."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return bool(certificate.not_valid_before <= now <= certificate.not_valid_after)
