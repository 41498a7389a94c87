"""The supervised ``ops`` service: the link, commands, shadow, telemetry and alarms.

Health: the service is ``running`` while it keeps the link going, connected or not —
the link's own state (:class:`~.link.OpsLinkChanged`) says which; it fails only for
what a retry cannot fix by itself (unreadable keys, a certificate for another kiosk).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any, Coroutine, Dict, List, Optional, Set, Tuple

import aiomqtt

from .. import __version__
from ..bus import Alarm
from ..errors import GovkioskError
from ..supervisor import Service
from ..updates.phases import UpdatePhaseChanged
from . import acceptance, schema
from .acceptance import AcceptanceSubmitted
from .commander import Commander
from .context import Context
from .envelope import topic
from .gate import Gate
from .host import Host
from .ledger import Ledger
from .link import Intake, Link
from .methods import permissions
from .oplog import OpsLog
from .outbox import Outbox
from .settings import OpsSettings
from .shadow import Shadow
from .signing import SM2, KioskSigner, SigningError, common_name, load_certificate
from .view import KioskView

_LOGGER = logging.getLogger(__name__)

PURGE_INTERVAL = 300.0


class OpsConfigError(GovkioskError):
    """The ops identity does not fit this kiosk."""


class OpsService(Service):
    name = "ops"

    def __init__(self, host: Host, view: KioskView, oplog: OpsLog) -> None:
        self._host = host
        self._view = view
        self._oplog = oplog
        self.kiosk_id = host.kiosk_id
        self.ledger = Ledger(host.store, self.settings.clock_skew)
        self.outbox = Outbox(
            host.store,
            self.settings.queue_limit,
            alarm_limit=lambda: self.settings.alarm_queue_limit,
            kiosk_id=self.kiosk_id,
        )
        self.shadow = Shadow(host, view)
        self.link: Optional[Link] = None
        self._commander: Optional[Commander] = None
        self._cert_pem = ""
        self._reply_cert_pem = ""
        self._tasks: Set[asyncio.Task[None]] = set()
        # Alarms raised before the tables exist wait here (a device fault at boot).
        self._early: List[Alarm] = []
        self._early_reports: List[AcceptanceSubmitted] = []
        self._early_updates: List[UpdatePhaseChanged] = []
        self._signer: Optional[KioskSigner] = None
        self._started = False
        self._alarm_lock: Optional[asyncio.Lock] = None  # made on the loop, at first use
        host.bus.subscribe(Alarm, self._on_alarm)
        host.bus.subscribe(AcceptanceSubmitted, self._on_acceptance)
        host.bus.subscribe(UpdatePhaseChanged, self._on_update)

    @property
    def settings(self) -> OpsSettings:
        return self._host.settings()

    async def start(self) -> None:
        settings = self.settings
        await self._host.store.migrate(schema.COMPONENT, schema.MIGRATIONS)
        await self.ledger.load(time.time())
        await self.outbox.load()
        await self.shadow.load()
        loop = asyncio.get_running_loop()
        try:
            pem = await loop.run_in_executor(None, Path(settings.cert).read_bytes)
        except OSError as err:
            raise OpsConfigError(f"ops: {settings.cert}: cannot be read: {err.strerror}") from err
        certificate = load_certificate(pem)
        if common_name(certificate) != self.kiosk_id:
            raise OpsConfigError(
                f"ops: {settings.cert}: CN {common_name(certificate)!r} is not the kiosk id"
                f" {self.kiosk_id!r}"
            )
        self._cert_pem = pem.decode("ascii")
        sm2_key = None
        if settings.reply_algorithm == SM2:
            sm2_key = Path(settings.reply_key)
            try:
                reply_pem = await loop.run_in_executor(None, Path(settings.reply_cert).read_bytes)
            except OSError as err:
                raise OpsConfigError(
                    f"ops: {settings.reply_cert}: cannot be read: {err.strerror}"
                ) from err
            self._reply_cert_pem = reply_pem.decode("ascii", "replace")
        signer = await loop.run_in_executor(None, KioskSigner, Path(settings.key), sm2_key)
        if self._reply_cert_pem:
            try:
                signer.check_reply_certificate(self._reply_cert_pem.encode(), self.kiosk_id)
            except SigningError as err:
                raise OpsConfigError(f"ops: {settings.reply_cert}: {err}") from err
        self._signer = signer
        self.link = Link(
            self.kiosk_id,
            settings,
            self._host.bus,
            self.outbox,
            will=self._state(online=False, why="lost"),
            goodbye=self._state(online=False, why="stopped"),
        )
        ctx = Context(self._host, self._view, self._oplog, signer)
        gate = Gate(self.kiosk_id, lambda: self.settings, self.ledger, permissions)
        self._commander = Commander(ctx, gate, self.ledger, signer, self.link.send)
        self._started = True
        early, self._early = self._early, []
        for alarm in early:
            self._spawn(self._forward(alarm))
        reports, self._early_reports = self._early_reports, []
        for report in reports:
            self._spawn(self._send_acceptance(report))
        updates, self._early_updates = self._early_updates, []
        for update in updates:
            self._spawn(self._send_update(update))

    async def serve(self) -> None:
        assert self.link is not None
        self._spawn(self._telemetry())
        self._spawn(self._purge())
        await self.link.run(
            [topic(self.kiosk_id, "cmd", "req"), self.shadow.desired_topic],
            self._on_message,
            self._on_connect,
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._commander is not None:
            await self._commander.close()

    def _state(self, *, online: bool, why: str = "") -> Tuple[str, bytes]:
        # The certificate rides along even in the Last Will: ops can check replies a kiosk
        # queued while offline as soon as they arrive.
        document: Dict[str, Any] = {
            "online": online,
            "kiosk_id": self.kiosk_id,
            "reason": why,
            "cert": self._cert_pem,
        }
        if self._reply_cert_pem:  # SM2-signed replies: the certificate to check them with
            document["reply_cert"] = self._reply_cert_pem
        if online:
            document.update(
                version=__version__,
                since=time.time(),
                outbox={"queued": self.outbox.size, "dropped": self.outbox.dropped},
            )
        return topic(self.kiosk_id, "state"), _json(document)

    async def _on_connect(self, link: Link) -> None:
        """The birth: retained ``state`` online (with the certificate ops checks replies
        against) and a fresh ``shadow/reported``."""
        await link.publish(*self._state(online=True, why="connected"), retain=True)
        await link.publish(self.shadow.reported_topic, await self.shadow.reported(), retain=True)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        assert self._commander is not None
        assert self.link is not None
        name = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes) else b""
        if name == self.shadow.desired_topic:
            if payload and await self.shadow.converge(payload):
                await self.link.publish(
                    self.shadow.reported_topic, await self.shadow.reported(), retain=True
                )
            return
        if payload:  # an empty message only clears a retained one: nothing to answer
            await self._commander.receive(name, payload, bool(message.retain))

    async def _telemetry(self) -> None:
        while True:
            await asyncio.sleep(self.settings.telemetry_interval)
            link = self.link
            if link is None:
                continue
            # Queued while the broker is away like alarms (ops sees the outage's history
            # afterwards); a full queue sheds the oldest telemetry first.
            health = self._view.health()
            health.update(
                kiosk_id=self.kiosk_id,
                seq=await self.outbox.next_sequence(),
                at=time.time(),
                outbox={"queued": self.outbox.size, "dropped": self.outbox.dropped},
            )
            if self._commander is not None:
                await self._commander.summarise_refusals()
                health["refused"] = dict(self._commander.refusals.counts)
            health["intake_dropped"] = Intake.dropped
            health["usage"] = await self._view.usage_report()
            health["upkeep"] = await self._view.upkeep_report()
            await link.send(topic(self.kiosk_id, "telemetry"), _json(health))

    async def _purge(self) -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL)
            await self.ledger.purge(time.time())

    def _on_alarm(self, alarm: Alarm) -> None:
        if self._started:
            self._spawn(self._forward(alarm))
        else:
            self._early.append(alarm)

    async def _forward(self, alarm: Alarm) -> None:
        document: Dict[str, Any] = {
            # The outbox delivers at least once (a broker restart can repeat the last
            # message): the id lets ops count each alarm once.
            "id": secrets.token_hex(8),
            "kiosk_id": self.kiosk_id,
            "at": time.time(),
            "source": alarm.source,
            "code": alarm.code,
            "severity": alarm.severity.value,
            "message": alarm.message,
        }
        if alarm.subject:
            document["subject"] = alarm.subject
        await self._oplog.append("alarm", alarm.code, document)
        if self._alarm_lock is None:
            self._alarm_lock = asyncio.Lock()
        # One alarm at a time from here: a repeat raised while the first is being queued
        # finds it queued.
        async with self._alarm_lock:
            # A repeat of an alarm still waiting for the broker is counted in it (no new seq).
            if await self.outbox.coalesce(document):
                return
            document["seq"] = await self.outbox.next_sequence()
            assert self.link is not None
            await self.link.send(topic(self.kiosk_id, "evt", "alarm"), _json(document))

    def _on_acceptance(self, event: AcceptanceSubmitted) -> None:
        if self._started:
            self._spawn(self._send_acceptance(event))
        else:
            self._early_reports.append(event)

    async def _send_acceptance(self, event: AcceptanceSubmitted) -> None:
        """``evt/acceptance`` through the outbox: sent now, or once the link is back."""
        assert self.link is not None
        assert self._signer is not None
        name = topic(self.kiosk_id, "evt", acceptance.EVENT)
        body = acceptance.document(event, self.kiosk_id, secrets.token_hex(8), time.time())
        await self._oplog.append("acceptance", event.name, {"id": body["id"], "name": event.name})
        if self._signer.algorithm == SM2:  # ~10 ms of CPU: off the event loop
            payload = await asyncio.get_running_loop().run_in_executor(
                None, self._signer.seal_document, name, body
            )
        else:
            payload = self._signer.seal_document(name, body)
        await self.link.send(name, payload)
        _LOGGER.info("ops: acceptance report %s queued for ops", event.name)

    def _on_update(self, event: UpdatePhaseChanged) -> None:
        if self._started:
            self._spawn(self._send_update(event))
        else:
            self._early_updates.append(event)

    async def _send_update(self, event: UpdatePhaseChanged) -> None:
        """``evt/update``, signed like a reply, through the outbox: each phase of an update."""
        assert self.link is not None
        assert self._signer is not None
        name = topic(self.kiosk_id, "evt", "update")
        body = {
            "id": secrets.token_hex(8),
            "kiosk_id": self.kiosk_id,
            "at": time.time(),
            "version": event.version,
            "previous": event.previous,
            "phase": event.phase,
            "detail": event.detail,
            "offer_id": event.offer_id,
        }
        await self._oplog.append("update", event.phase, body)
        await self.link.send(name, self._signer.seal_document(name, body))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _json(document: Dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")
