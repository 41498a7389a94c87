"""Watching a kiosk through a cluster that loses nodes: what a dashboard and an operator's
tool do (reconnect, to another node if need be), and the counts a failover is judged by."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Sequence, Set

import aiomqtt

from govkiosk.fleet.client import FleetClient, FleetError
from govkiosk.ops.envelope import Reply, topic
from govkiosk.ops.link import end_attempt, refused

from .opskiosk import KIOSK
from .opssite import Site, raw

#: How long an operator waits for one reply before trying another node.
ATTEMPT = 30.0
#: Seconds without a message before a watcher resumes its session on the next node.
QUIET = 5.0


class Sequences:
    """``seq`` of every telemetry and alarm message a watcher received."""

    def __init__(self) -> None:
        self.received: List[int] = []

    def add(self, payload: bytes) -> None:
        document = json.loads(payload)
        if isinstance(document.get("seq"), int):
            self.received.append(document["seq"])

    def lost(self, upto: int = 0) -> Set[int]:
        """Numbers missing between the first received and ``upto`` (or the last received)."""
        if not self.received:
            return set()
        last = max([upto, *self.received])
        return set(range(min(self.received), last + 1)) - set(self.received)

    def duplicated(self) -> int:
        return len(self.received) - len(set(self.received))


async def watch_sequences(site: Site, nodes: Sequence[int], sequences: Sequences) -> None:
    """Follow the kiosk's telemetry and alarms with a persistent session, reconnecting (to
    the next of ``nodes``) as a dashboard does: a node may die, and the cluster closes
    connections while it elects new stream leaders."""
    turn = 0
    while True:
        node = nodes[turn % len(nodes)]
        watch = raw(site.identity("ops-watch", node), "watch", clean=False)
        try:
            async with watch:
                for name in ("telemetry", "evt/alarm"):
                    # Refused while the cluster elects a leader: the session would not
                    # keep what comes meanwhile; try again.
                    refused(await watch.subscribe(topic(KIOSK, name), qos=1), name)
                while True:
                    # The kiosk sends every fraction of a second: silence is a session the
                    # cluster stopped delivering to (a consumer left without its leader);
                    # resuming it elsewhere is what a dashboard would do.
                    message = await asyncio.wait_for(watch.messages.__anext__(), QUIET)
                    sequences.add(bytes(message.payload))  # type: ignore[arg-type]
        except (aiomqtt.MqttError, asyncio.TimeoutError):
            # Messages paho acknowledged (QoS 1) but aiomqtt had not handed over when the
            # connection dropped are in its queue, and the broker will not send them again.
            while len(watch.messages):
                sequences.add(bytes(watch._queue.get_nowait().payload))  # type: ignore[arg-type]
            end_attempt(watch)
            turn += 1
            await asyncio.sleep(0.2)


async def operate(site: Site, nodes: Sequence[int], document: Dict[str, Any], role: str) -> Reply:
    """Send one signed command until its final reply comes, over fresh connections (to the
    next of ``nodes``) if one fails: the same signed command each time, as an operator's
    tool does; the kiosk's ledger runs it once."""
    turn = 0
    while True:
        node = nodes[turn % len(nodes)]
        try:
            # One client id for every attempt: a clean session replaces the last one's, so
            # failed attempts leave no sessions behind in the cluster's streams.
            identity = site.identity("ops-admin", node)
            async with FleetClient(identity, client_id="failover-operator") as fleet:
                await fleet.follow([KIOSK], ATTEMPT)
                queue = await fleet.send(site.signers[role], dict(document))
                return await fleet.final(queue, ATTEMPT)
        except (aiomqtt.MqttError, FleetError, asyncio.TimeoutError):
            turn += 1
            await asyncio.sleep(0.2)
