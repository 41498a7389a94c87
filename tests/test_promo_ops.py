"""``promo.update`` and ``promo.rollback`` end to end: an operator's signed command → mosquitto
(TLS, the shipped ACL) → the daemon's ops service → ``cn.govkiosk.Promo1`` → media from a
real HTTP server on 127.0.0.1 → a signed reply."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Dict

import pytest

from govkiosk.fleet.client import FleetClient, Reply
from govkiosk.ops.envelope import Status
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site
from harness.promo import BLUE, GREEN, RED, ContentSigner, MediaServer, manifest_for, playlist_dir

TIMEOUT = 30.0
SIGNER = ContentSigner()
EXTRA = "\nallow_http_loopback = true\n"  # continues [promo] below


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[MediaServer]:
    server = MediaServer(tmp_path / "served")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def kiosk(site: Site, private_bus: PrivateBus, tmp_path: Path) -> AsyncIterator[Kiosk]:
    promo = "\n[promo]\nallow_http_loopback = true\n\n" + SIGNER.toml()
    async with running_kiosk(site, tmp_path / "kiosk", private_bus.address, promo) as kiosk:
        await kiosk.connected()
        yield kiosk


@pytest.fixture
async def fleet(site: Site) -> AsyncIterator[FleetClient]:
    async with FleetClient(site.identity("ops-operator")) as client:
        yield client


async def _send(
    site: Site, fleet: FleetClient, method: str, params: Dict[str, Any], role: str = "operator"
) -> Reply:
    replies = await fleet.run(
        site.signers[role], [KIOSK], method, params, role=role, issuer="t", timeout=TIMEOUT
    )
    reply = replies[KIOSK]
    assert reply is not None
    return reply


def _version(kiosk: Kiosk) -> str:
    directory = kiosk.runtime.state_dir / "promo" / "current"
    return directory.resolve().name.partition("-")[2]


async def test_update_then_refusals_then_rollback(
    site: Site, kiosk: Kiosk, fleet: FleetClient, server: MediaServer
) -> None:
    playlist_dir(server.directory, "week49", [("welcome", RED), ("hours", GREEN)])
    manifest = SIGNER.sign(manifest_for(server.directory, server.base_url))
    reply = await _send(site, fleet, "promo.update", {"manifest": manifest})
    assert reply.status is Status.SUCCEEDED, reply.detail
    assert reply.result["version"] == "week49"
    assert reply.result["entries"] == 2
    assert _version(kiosk) == "week49"

    # Each refused update says why, and week49 keeps playing.
    playlist_dir(server.directory, "week50", [("welcome", BLUE), ("hours", BLUE)])
    good = manifest_for(server.directory, server.base_url)
    forged = ContentSigner(SIGNER.key_id).sign(good)
    bad_hash = {**good, "files": {**good["files"]}}
    bad_hash["files"]["hours.png"] = {**good["files"]["hours.png"], "sha256": "0" * 64}
    oversized = {**good, "files": {**good["files"]}}
    oversized["files"]["hours.png"] = {**good["files"]["hours.png"], "size": 600 * 1024 * 1024}
    bad_schedule = {
        **good,
        "entries": [{**good["entries"][0], "times": ["9-17"]}, good["entries"][1]],
    }
    for manifest, reason in (
        (forged, "does not verify with content key publicity-test-1"),
        (SIGNER.sign(bad_hash), "hours.png: its SHA-256 is not the manifest's"),
        (SIGNER.sign(oversized), "over [promo] max_file_mb"),
        (SIGNER.sign(bad_schedule), 'times[0]: expected "HH:MM-HH:MM"'),
    ):
        reply = await _send(site, fleet, "promo.update", {"manifest": manifest})
        assert reply.status is Status.FAILED
        assert reason in reply.detail
        assert _version(kiosk) == "week49"

    reply = await _send(site, fleet, "promo.update", {"manifest": SIGNER.sign(good)})
    assert reply.status is Status.SUCCEEDED, reply.detail
    assert _version(kiosk) == "week50"
    reply = await _send(site, fleet, "promo.rollback", {})
    assert reply.status is Status.SUCCEEDED, reply.detail
    assert (reply.result["version"], reply.result["previous"]) == ("week49", "week50")
    assert _version(kiosk) == "week49"


async def test_a_viewer_may_not_change_the_playlist(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    reply = await _send(site, fleet, "promo.rollback", {}, role="viewer")
    assert reply.status is Status.REJECTED
