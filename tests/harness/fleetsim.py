"""Simulated kiosks for rollouts: each publishes its retained ``state`` (with its
certificate, as a daemon does) and notes every command it receives, answering none."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import List, Tuple

from govkiosk.fleet.client import Identity
from govkiosk.ops.envelope import topic

from .opssite import Site, raw


def rank(kiosk_id: str) -> str:
    """The wave order of ``fleet release`` (the SHA-256 of the id)."""
    return hashlib.sha256(kiosk_id.encode()).hexdigest()


def later_kiosks(first: str, count: int, prefix: str = "test-hlj-") -> List[str]:
    """Kiosk ids that come after ``first`` in wave order: ``first`` is the canary."""
    ids = (f"{prefix}{n:04d}" for n in range(2, 2000))
    return [k for k in ids if rank(k) > rank(first)][:count]


async def simulated(
    site: Site, kiosk_id: str, version: str, seen: List[Tuple[str, str]], up: asyncio.Event
) -> None:
    cert, key = site.kiosk_files(kiosk_id)
    operator = site.identity("unused")
    identity = Identity(operator.host, operator.port, operator.ca, cert, key)
    state = {"online": True, "kiosk_id": kiosk_id, "version": version, "cert": cert.read_text()}
    async with raw(identity, kiosk_id) as client:
        await client.publish(topic(kiosk_id, "state"), json.dumps(state), qos=1, retain=True)
        await client.subscribe(topic(kiosk_id, "cmd", "req"), qos=1)
        up.set()
        async for message in client.messages:
            seen.append((kiosk_id, message.topic.value))
