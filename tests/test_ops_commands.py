"""Remote commands end to end: an operator's FleetClient → mosquitto (TLS + the shipped
ACL) → the daemon's ops service → a signed reply back."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from govkiosk.fleet.client import FleetClient
from govkiosk.ops.envelope import Status
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site

TIMEOUT = 20.0


@pytest.fixture
async def kiosk(site: Site, private_bus: PrivateBus, tmp_path: Path) -> AsyncIterator[Kiosk]:
    async with running_kiosk(site, tmp_path / "kiosk", private_bus.address) as kiosk:
        await kiosk.connected()
        yield kiosk


@pytest.fixture
async def fleet(site: Site) -> AsyncIterator[FleetClient]:
    async with FleetClient(site.identity("ops-admin")) as client:
        yield client


async def test_status_round_trip(site: Site, kiosk: Kiosk, fleet: FleetClient) -> None:
    replies = await fleet.run(
        site.signers["viewer"], [KIOSK], "status", {}, role="viewer", issuer="t", timeout=TIMEOUT
    )
    reply = replies[KIOSK]
    assert reply is not None
    assert reply.status is Status.SUCCEEDED, reply.detail
    assert reply.result["kiosk"]["id"] == KIOSK
    assert any(s["name"] == "ops" for s in reply.result["services"])
