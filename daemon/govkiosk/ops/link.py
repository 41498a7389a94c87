"""The kiosk's MQTT connection as a visible state machine.

    disabled                      no [ops] host: the kiosk runs without remote ops
    connecting → connected        TLS with the kiosk's certificate; resubscribe, birth
    connected  → waiting          the connection dropped, or failed: back off, retry
    waiting    → connecting       after initial·2ⁿ (capped), with jitter so a site's
                                  kiosks do not all return at the same second; after
                                  the broker refused our identity, ``auth_retry``

With several broker addresses (``[ops] servers``, the nodes of a cluster), the kiosk
starts at a random one — a fleet spreads over the nodes — and moves to the next after
each failed or broken connection; the backoff grows once per round of every address,
so a node's loss costs one short wait (``reconnect_initial``), not a doubling series.
The session (clean_session false) is the cluster's, not the node's: the kiosk's
subscriptions and the commands queued for it follow it to another node.

Each change is an :class:`OpsLinkChanged` event and a log line: WARNING for the first
failure of a series, DEBUG for the ones after it, INFO when connected again. The
kiosk never depends on the link: everything that must reach ops waits in the
:class:`~.outbox.Outbox` until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable, List, Optional, Tuple

import aiomqtt

from ..bus import Event, EventBus
from ..contract.outcomes import count_as_seen
from ..errors import GovkioskError
from .outbox import Outbox
from .settings import OpsSettings

_LOGGER = logging.getLogger(__name__)

#: CONNACK codes meaning "not you": MQTT 3.1.1 (4, 5) and MQTT 5 (134, 135).
AUTH_REFUSED = (4, 5, 134, 135)
PUBLISH_TIMEOUT = 10.0
#: Small interactive messages: without this, Nagle's algorithm meets the peer's delayed
#: ACK and a reply sent right after an acknowledgement waits 40 ms.
NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
#: Messages received and not yet handled, at most: past it a flood is shed, not stored.
INTAKE_LIMIT = 4096

if TYPE_CHECKING:
    _MessageQueue = asyncio.Queue[aiomqtt.Message]
else:
    _MessageQueue = asyncio.Queue


class Intake(_MessageQueue):
    """The kiosk's bounded intake of messages from the broker.

    When a flood outruns the gate, what does not fit is dropped and counted — not logged
    one by one. A legitimate command dropped here is published again by its sender until
    the kiosk answers (the fleet client does), and runs once.
    """

    #: Messages shed since start, across reconnects.
    dropped = 0

    def put_nowait(self, item: aiomqtt.Message) -> None:
        if self.full():
            Intake.dropped += 1
            return
        super().put_nowait(item)


GOODBYE_TIMEOUT = 1.0
#: The longest wait for a broker's CONNACK, however many attempts failed.
CONNECT_TIMEOUT_MAX = 30.0
#: Rounds of every address tried with the configured ``connect_timeout`` before it
#: doubles: a cluster that lost a node answers no CONNECT until it has elected new stream
#: leaders (4-9 s in NATS), and an attempt made meanwhile is lost whole; a short wait per
#: attempt lets the first one after the election find the new leaders.
BASE_ROUNDS = 2
FLUSH_BATCH = 50


class LinkState(str, enum.Enum):
    DISABLED = "disabled"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"


@dataclass(frozen=True)
class OpsLinkChanged(Event):
    state: str
    detail: str
    failures: int


class LinkError(GovkioskError):
    """The broker cannot be reached or refused the kiosk."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with "equal jitter": half fixed, half random."""

    initial: float
    maximum: float
    auth_retry: float

    def delay(self, failures: int, auth_refused: bool, rng: Callable[[], float]) -> float:
        if auth_refused:
            base = self.auth_retry
        else:
            base = min(self.maximum, self.initial * 2 ** max(0, failures - 1))
        return base / 2 + base / 2 * rng()


def auth_refused(err: BaseException) -> bool:
    """The broker (or its TLS layer) refused the kiosk's identity.

    Not when the kiosk refused the broker's certificate: one such failure (a broker
    restarting with a new certificate, or someone on the path answering once) must not
    keep the kiosk off the link for the long ``auth_retry``.
    """
    if isinstance(err, aiomqtt.MqttCodeError):
        rc = err.rc
        value = getattr(rc, "value", rc)
        if isinstance(value, int) and value in AUTH_REFUSED:
            return True
    cause = err.__cause__ or err.__context__
    ours = (ssl.SSLEOFError, ssl.SSLCertVerificationError)
    return isinstance(cause, ssl.SSLError) and not isinstance(cause, ours)


class SubscriptionRefused(aiomqtt.MqttError):
    """The broker refused a subscription the kiosk needs: without it no command arrives."""


def refused(granted: object, name: str) -> None:
    """Raise if a SUBACK refused ``name`` (0x80).

    A site broker refuses only what its ACL forbids; a cluster also refuses while it elects
    a new leader after a node's loss (docs/fleet-cluster.md). Either way a connection
    without its subscriptions is no link: drop it and try again (the next node).
    """
    codes = granted if isinstance(granted, (list, tuple)) else [granted]
    for code in codes:
        value = getattr(code, "value", code)
        if isinstance(value, int) and value >= 0x80:
            raise SubscriptionRefused(f"the broker refused the subscription to {name}")


def end_attempt(client: aiomqtt.Client) -> None:
    """End a connection attempt's TCP connection and its bookkeeping, however it ended.

    aiomqtt leaves the socket open when CONNACK does not come in time. A cluster node
    still electing a leader answers that CONNECT seconds later, and the forgotten
    connection then takes the kiosk's session over from the one the kiosk made to the
    next node meanwhile, which the cluster closes. Shutting the socket down lets paho
    see the end and clean up as after any lost connection; on one already closed it
    does nothing.

    aiomqtt also records how a connection ended in futures of its own, read only by its
    message iterator. An attempt that ended another way (a publish or subscribe that
    failed as the node died, a CONNACK answered after the attempt gave up) leaves that
    error unread, and asyncio logs each one as "Future exception was never retrieved".
    The attempt has reported its end through the error that ended it: those count as seen.
    """
    sock = client._client.socket()  # aiomqtt offers no abort of its own
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    count_as_seen(client._connected)
    count_as_seen(client._disconnected)


Handler = Callable[[aiomqtt.Message], Awaitable[None]]
OnConnect = Callable[["Link"], Awaitable[None]]


class Link:
    """One kiosk's connection; :meth:`run` keeps it up until cancelled."""

    def __init__(
        self,
        kiosk_id: str,
        settings: OpsSettings,
        bus: EventBus,
        outbox: Outbox,
        *,
        will: Tuple[str, bytes],
        goodbye: Tuple[str, bytes],
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.settings = settings
        self._bus = bus
        self._outbox = outbox
        self._will = will
        self._goodbye = goodbye
        self._rng = rng
        self._backoff = Backoff(
            settings.reconnect_initial, settings.reconnect_max, settings.auth_retry
        )
        self.addresses = settings.addresses
        if not self.addresses:
            raise LinkError("ops: no broker address ([ops] host or servers)")
        self._index = int(rng() * len(self.addresses)) % len(self.addresses)
        self._client: Optional[aiomqtt.Client] = None
        self._flushing = asyncio.Lock()
        self.state = LinkState.CONNECTING
        self.failures = 0
        self.connections = 0

    def _connect_timeout(self) -> float:
        """``connect_timeout`` for the first :data:`BASE_ROUNDS` rounds of every address,
        then doubled for each further round that failed (up to :data:`CONNECT_TIMEOUT_MAX`):
        short while one node is merely gone, long enough for a slow but working broker
        once every address has failed again and again."""
        rounds = max(0, self.failures // len(self.addresses) - BASE_ROUNDS + 1)
        return float(min(CONNECT_TIMEOUT_MAX, self.settings.connect_timeout * 2**rounds))

    @property
    def address(self) -> Tuple[str, int]:
        """The broker address in use, or tried next."""
        return self.addresses[self._index]

    @property
    def connected(self) -> bool:
        return self.state is LinkState.CONNECTED and self._client is not None

    def _set(self, state: LinkState, detail: str = "") -> None:
        self.state = state
        self._bus.publish(OpsLinkChanged(state.value, detail, self.failures))

    async def run(self, subscriptions: List[str], handler: Handler, on_connect: OnConnect) -> None:
        """Connect, serve, reconnect — until cancelled."""
        while True:
            self._set(LinkState.CONNECTING)
            refused = False
            try:
                await self._session(subscriptions, handler, on_connect)
                detail = "the broker closed the connection"
            except aiomqtt.MqttError as err:
                refused = auth_refused(err)
                detail = str(err) or type(err).__name__
            except (OSError, ssl.SSLError) as err:
                detail = str(err)
            finally:
                self._client = None
            self.failures += 1
            host, port = self.address
            self._index = (self._index + 1) % len(self.addresses)
            # One round of every address at the initial pace before the wait doubles.
            rounds = -(-self.failures // len(self.addresses))
            delay = self._backoff.delay(rounds, refused, self._rng)
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            _LOGGER.log(
                level,
                "ops: %s:%d: %s%s; retry in %.1f s%s",
                host,
                port,
                "identity refused: " if refused else "",
                detail,
                delay,
                f" at {self.address[0]}:{self.address[1]}" if len(self.addresses) > 1 else "",
            )
            self._set(LinkState.WAITING, detail)
            await asyncio.sleep(delay)

    async def _session(
        self, subscriptions: List[str], handler: Handler, on_connect: OnConnect
    ) -> None:
        loop = asyncio.get_running_loop()
        context = await loop.run_in_executor(None, self._tls)
        will_topic, will_payload = self._will
        host, port = self.address
        client = aiomqtt.Client(
            host,
            port,
            identifier=self.kiosk_id,
            clean_session=False,  # QoS 1 commands sent while we were away still arrive
            keepalive=self.settings.keepalive,
            # aiomqtt waits this long for CONNACK even when the broker closed the socket.
            timeout=self._connect_timeout(),
            tls_context=context,
            will=aiomqtt.Will(will_topic, will_payload, qos=1, retain=True),
            socket_options=NO_DELAY,
            queue_type=Intake,
            max_queued_incoming_messages=INTAKE_LIMIT,
        )
        try:
            async with client:
                await self._serve(client, subscriptions, handler, on_connect)
        finally:
            end_attempt(client)

    async def _serve(
        self,
        client: aiomqtt.Client,
        subscriptions: List[str],
        handler: Handler,
        on_connect: OnConnect,
    ) -> None:
        host, port = self.address
        self._client = client
        for name in subscriptions:
            refused(await client.subscribe(name, qos=1, timeout=PUBLISH_TIMEOUT), name)
        if self.failures:
            _LOGGER.info(
                "ops: connected to %s:%d after %d failed attempt(s)",
                host,
                port,
                self.failures,
            )
        self.failures = 0
        self.connections += 1
        self._set(LinkState.CONNECTED, f"{host}:{port}")
        await on_connect(self)
        await self.flush()
        try:
            async for message in client.messages:
                await handler(message)
        except asyncio.CancelledError:
            await self._say_goodbye(client)
            raise
        except aiomqtt.MqttError:
            await self._drain(client, handler)
            raise

    async def _drain(self, client: aiomqtt.Client, handler: Handler) -> None:
        """Handle what arrived before the link broke: paho acknowledged it (QoS 1), so the
        broker will not send it again, but aiomqtt stops handing messages over once it
        knows the connection is gone. Answers wait in the outbox."""
        intake = client._queue
        while not intake.empty():
            await handler(intake.get_nowait())

    async def _say_goodbye(self, client: aiomqtt.Client) -> None:
        """A clean stop is not a lost kiosk: replace the Last Will's "lost" with "stopped"."""
        name, payload = self._goodbye
        try:
            await client.publish(name, payload, qos=1, retain=True, timeout=GOODBYE_TIMEOUT)
        except aiomqtt.MqttError:
            _LOGGER.debug("ops: could not say goodbye; the Last Will will speak")

    def _tls(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cafile=self.settings.ca)
            context.load_cert_chain(self.settings.cert, self.settings.key)
        except (OSError, ssl.SSLError) as err:
            raise LinkError(f"ops: TLS files: {err}") from err
        return context

    async def publish(self, topic_name: str, payload: bytes, retain: bool = False) -> bool:
        """Publish now if connected; ``False`` if it could not go out."""
        client = self._client
        if client is None or not self.connected:
            return False
        try:
            await client.publish(topic_name, payload, qos=1, retain=retain, timeout=PUBLISH_TIMEOUT)
        except aiomqtt.MqttError:
            return False
        return True

    async def send(self, topic_name: str, payload: bytes, retain: bool = False) -> None:
        """Publish, or queue for later: results, alarms and rejections must reach ops."""
        if self._outbox.size == 0 and await self.publish(topic_name, payload, retain):
            return
        await self._outbox.put(topic_name, payload, retain)
        if self.connected:
            await self.flush()

    async def flush(self) -> None:
        """Send what waited, oldest first; stop at the first failure."""
        async with self._flushing:
            while self._outbox.size and self.connected:
                batch = await self._outbox.peek(FLUSH_BATCH)
                if not batch:
                    return
                for message_id, topic_name, payload, retain in batch:
                    if not await self.publish(topic_name, payload, retain):
                        return
                    await self._outbox.remove(message_id)
