"""The issue's canary target end to end: ``govkioskctl fleet release run`` (a real process,
an admin's certificate) → mosquitto (TLS, the shipped ACL) → a real daemon (the canary)
whose update agent verifies the release, downloads it from an HTTPS mirror and asks the
installer; the installer (a stand-in here: the packaging tests run the real one with apt)
finds the new version unhealthy and rolls back; the daemon reports ``rolled_back`` as a
signed ``evt/update``; the rollout pauses before the next wave, whose kiosks (simulated:
they only publish their state and note any command) are never offered the release, and
the canary still runs the previous version."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import AsyncIterator, Iterator, List, Tuple

import pytest

from govkiosk import __version__
from govkiosk.fleet.client import FleetClient
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.release import release_body
from govkiosk.ops.envelope import Status
from govkiosk.ops.signing import OperatorSigner
from govkiosk.updates import manifest, phases
from govkiosk.updates.agent import REQUEST, STATUS
from govkiosk.updates.phases import Phase, Progress
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.fleetsim import later_kiosks, simulated
from harness.mirror import Mirror
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site

RELEASE_KEY = OperatorSigner.generate("release-2026")
NEW = "9.0.0"
PROCESS_TIMEOUT = 120.0


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    pool = tmp_path / "pool"
    pool.mkdir()
    (pool / f"govkiosk_{NEW}_all.deb").write_bytes(os.urandom(50_000))
    server = Mirror(pool, CertificateAuthority(), tmp_path / "mirror-pki")
    server.start()
    yield server
    server.stop()


def updates_section(mirror: Mirror, installer: Path) -> str:
    return f"""
[updates]
mirror = "{mirror.base_url}"
mirror_ca = "{mirror.ca_file}"
service_hours = []
installer_dir = "{installer}"
recheck = 0.1

[[updates.release_keys]]
key_id = "{RELEASE_KEY.key_id}"
public_key = "{RELEASE_KEY.public_b64()}"
"""


@pytest.fixture
async def canary(
    site: Site, private_bus: PrivateBus, tmp_path: Path, mirror: Mirror
) -> AsyncIterator[Kiosk]:
    extra = updates_section(mirror, tmp_path / "installer")
    async with running_kiosk(site, tmp_path / "kiosk", private_bus.address, extra) as kiosk:
        await kiosk.connected()
        yield kiosk


async def broken_install(spool: Path, installer: Path) -> None:
    """What govkiosk-update does with a release whose daemon never becomes healthy:
    takes the request, installs, restarts, waits, reinstalls the previous packages."""
    await eventually((spool / REQUEST).exists, "the daemon's request", 60)
    request = json.loads((spool / REQUEST).read_text())
    (spool / REQUEST).unlink()
    progress = Progress(request["version"], Phase.INSTALLING, request["offer_id"], __version__)
    status = installer / STATUS
    for phase, detail in (
        (Phase.INSTALLING, ""),
        (Phase.RESTARTED, ""),
        (
            Phase.ROLLED_BACK,
            f"not healthy within 1 s: the daemon exited; {__version__} reinstalled",
        ),
    ):
        progress.phase, progress.detail = phase, detail
        phases.write(status, progress.as_dict(), 0o644)


async def ctl(*args: str) -> Tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "govkiosk.cli.main", "fleet", "release", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    return process.returncode or 0, out.decode()


async def test_a_broken_canary_pauses_the_rollout_and_stays_on_its_version(
    site: Site, canary: Kiosk, mirror: Mirror, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    release_key = keys / f"{RELEASE_KEY.key_id}.key"
    release_key.write_bytes(RELEASE_KEY.private_pem())
    admin = site.signers["admin"]
    admin_key = keys / f"{admin.key_id}.key"
    admin_key.write_bytes(admin.private_pem())
    identity = site.identity("ops-admin")
    others = later_kiosks(KIOSK, 9)
    seen: List[Tuple[str, str]] = []
    ups = [asyncio.Event() for _ in others]
    sims = [
        asyncio.ensure_future(simulated(site, k, __version__, seen, u)) for k, u in zip(others, ups)
    ]
    installer = asyncio.ensure_future(
        broken_install(canary.runtime.state_dir / "updates", tmp_path / "installer")
    )
    try:
        await asyncio.wait_for(asyncio.gather(*(u.wait() for u in ups)), 30)
        signed = tmp_path / "release.json"
        code, out = await ctl(
            "sign", "--key", str(release_key), "--version", NEW, "--min-version", __version__,
            "--out", str(signed), str(mirror.directory / f"govkiosk_{NEW}_all.deb"),
        )  # fmt: skip
        assert code == 0, out
        state = tmp_path / "rollout.json"
        connection = (
            "--broker", f"{identity.host}:{identity.port}", "--ca", str(identity.ca),
            "--cert", str(identity.cert), "--key", str(identity.key),
            "--signing-key", str(admin_key), "--issuer", "release-manager",
        )  # fmt: skip
        code, out = await ctl(
            "run", "--state", str(state), "--release", str(signed), "--waves", "5,50,100",
            "--wave-timeout", "60", "--kiosk", KIOSK, *[a for k in others for a in ("--kiosk", k)],
            *connection,
        )  # fmt: skip
        assert code == 4, out  # paused
        assert "paused" in out
        assert f"{KIOSK}: rolled_back" in out
        await installer

        summary = json.loads((await ctl("status", "--state", str(state), "--json"))[1])
        assert summary["status"] == "paused"
        assert summary["next_wave"] == 2
        assert [w["kiosks"] for w in summary["waves"]] == [1, 4, 5]
        assert summary["waves"][1]["started_at"] == 0  # the next wave never started
        assert summary["phases"] == {"rolled_back": 1}
        # Nobody else was offered the release.
        assert seen == []
        # The canary runs the previous version, says so to ops, and its update ended.
        async with FleetClient(identity) as fleet:
            replies = await fleet.run(
                admin, [KIOSK], "status", {}, role="admin", issuer="t", timeout=30
            )
        reply = replies[KIOSK]
        assert reply is not None
        assert reply.status is Status.SUCCEEDED
        assert reply.result["version"] == __version__
        assert canary.daemon.runtime.config.updates.enabled
        update = json.loads((canary.runtime.state_dir / "updates" / "state.json").read_text())
        assert update["phase"] == "rolled_back"
        # (restarted may pass between two looks at the installer's status)
        assert update["reported"][:4] == ["offered", "verified", "downloaded", "installing"]
        assert update["reported"][-1] == "rolled_back"
        assert mirror.requests == [f"govkiosk_{NEW}_all.deb"]
    finally:
        installer.cancel()
        for sim in sims:
            sim.cancel()
        await asyncio.gather(installer, *sims, return_exceptions=True)


async def test_a_viewer_cannot_offer_an_update(site: Site, canary: Kiosk) -> None:
    async with FleetClient(site.identity("ops-operator")) as fleet:
        replies = await fleet.run(
            site.signers["operator"], [KIOSK], "update.offer", {"release": {}},
            role="operator", issuer="t", timeout=30,
        )  # fmt: skip
    reply = replies[KIOSK]
    assert reply is not None
    assert reply.status is Status.REJECTED
    assert reply.reason == "role_denied"


async def test_a_forged_release_is_refused_over_ops(
    site: Site, canary: Kiosk, mirror: Mirror
) -> None:
    forger = OperatorSigner.generate(RELEASE_KEY.key_id)
    body = release_body(NEW, [mirror.directory / f"govkiosk_{NEW}_all.deb"])
    async with FleetClient(site.identity("ops-admin")) as fleet:
        replies = await fleet.run(
            site.signers["admin"], [KIOSK], "update.offer",
            {"release": manifest.sign(body, forger)}, role="admin", issuer="t", timeout=30,
        )  # fmt: skip
    reply = replies[KIOSK]
    assert reply is not None
    assert reply.status is Status.FAILED
    assert "does not verify" in reply.detail
    assert mirror.requests == []


async def test_which_release_keys_a_kiosk_trusts_cannot_be_changed_over_ops(
    site: Site, canary: Kiosk
) -> None:
    forger = OperatorSigner.generate("release-2027")
    values = {
        "updates": {"release_keys": [{"key_id": forger.key_id, "public_key": forger.public_b64()}]}
    }
    async with FleetClient(site.identity("ops-admin")) as fleet:
        replies = await fleet.run(
            site.signers["admin"], [KIOSK], "config.set", {"values": values},
            role="admin", issuer="t", timeout=30,
        )  # fmt: skip
    reply = replies[KIOSK]
    assert reply is not None
    assert reply.status is Status.FAILED
    assert "not settable remotely" in reply.detail
    assert [k.key_id for k in canary.runtime.config.updates.release_keys] == [RELEASE_KEY.key_id]
