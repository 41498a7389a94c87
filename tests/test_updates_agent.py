"""The daemon's update agent against a real HTTPS mirror on loopback (a test site CA): the
signature before anything, the version rules, bounded and hashed downloads, waiting for an
idle kiosk outside service hours, the request to the installer, and the phases reported —
also by a daemon restarted in the middle (the installer restarts it)."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, List

import pytest

from govkiosk.bus import EventBus
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.release import release_body
from govkiosk.ops.signing import OperatorSigner
from govkiosk.updates import manifest, phases
from govkiosk.updates.agent import REQUEST, UpdateAgent, in_hours
from govkiosk.updates.errors import SignatureError, VersionError
from govkiosk.updates.phases import Phase, Progress, UpdatePhaseChanged
from govkiosk.updates.settings import ReleaseKey, UpdateSettings
from harness.eventually import eventually
from harness.mirror import Mirror

KEY = OperatorSigner.generate("release-test")
FORGER = OperatorSigner.generate("release-test")
NOON = datetime.datetime(2026, 12, 7, 12, 0)
NIGHT = datetime.datetime(2026, 12, 7, 2, 0)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    pool = tmp_path / "pool"
    pool.mkdir()
    for version in ("0.2.0", "0.0.5"):
        (pool / f"govkiosk_{version}_all.deb").write_bytes(os.urandom(200_000))
    server = Mirror(pool, CertificateAuthority(), tmp_path / "pki")
    server.start()
    yield server
    server.stop()


class Kiosk:
    def __init__(self, tmp_path: Path, mirror: Mirror, installed: str = "0.1.0") -> None:
        self.settings = UpdateSettings(
            release_keys=(ReleaseKey(KEY.key_id, KEY.public_b64()),),
            mirror=mirror.base_url,
            mirror_ca=str(mirror.ca_file),
            service_hours=("08:00-18:00",),
            installer_dir=str(tmp_path / "installer"),
            recheck=0.05,
            health_timeout=5.0,
        )
        self.bus = EventBus()
        self.phases: List[UpdatePhaseChanged] = []
        self.bus.subscribe(UpdatePhaseChanged, self.phases.append)
        self.busy = False
        self.now = NIGHT
        self.agent = UpdateAgent(
            lambda: self.settings,
            self.bus,
            tmp_path / "state",
            installed,
            lambda: self.busy,
            local_now=lambda: self.now,
        )

    def seen(self) -> List[str]:
        return [p.phase for p in self.phases]

    async def reached(self, phase: Phase) -> None:
        await eventually(lambda: phase.value in self.seen(), f"phase {phase.value}", 20)


@pytest.fixture
async def kiosk(tmp_path: Path, mirror: Mirror) -> AsyncIterator[Kiosk]:
    kiosk = Kiosk(tmp_path, mirror)
    await kiosk.agent.start()
    yield kiosk
    await kiosk.agent.stop()


def signed(
    mirror: Mirror, version: str = "0.2.0", signer: OperatorSigner = KEY, **extra: Any
) -> str:
    body = release_body(
        version, [mirror.directory / f"govkiosk_{version}_all.deb"], min_version="0.1.0"
    )
    body.update(extra)
    return json.dumps(manifest.sign(body, signer))


async def test_a_good_release_is_downloaded_checked_and_handed_to_the_installer(
    kiosk: Kiosk, mirror: Mirror
) -> None:
    state = await kiosk.agent.offer(signed(mirror), False, "cmd-1")
    assert state["update"]["version"] == "0.2.0"
    await kiosk.reached(Phase.INSTALLING)
    assert kiosk.seen() == ["offered", "verified", "downloaded", "installing"]
    spool = kiosk.agent.spool
    request = json.loads((spool / REQUEST).read_text())
    assert request["version"] == "0.2.0"
    assert request["offer_id"] == "cmd-1"
    kept = spool / "releases" / "0.2.0"
    package = kept / "govkiosk_0.2.0_all.deb"
    served = (mirror.directory / package.name).read_bytes()
    assert hashlib.sha256(package.read_bytes()).digest() == hashlib.sha256(served).digest()
    assert json.loads((kept / "release.json").read_text())["key_id"] == KEY.key_id
    # The same offer again (a redelivered command) is answered, not started twice.
    assert (await kiosk.agent.offer(signed(mirror), False, "cmd-1"))["update"]["version"] == "0.2.0"
    with pytest.raises(Exception, match="in progress"):
        await kiosk.agent.offer(signed(mirror), False, "cmd-2")


async def test_a_restarted_daemon_reports_what_the_installer_did(
    tmp_path: Path, kiosk: Kiosk, mirror: Mirror
) -> None:
    await kiosk.agent.offer(signed(mirror), False, "cmd-1")
    await kiosk.reached(Phase.INSTALLING)
    status = Path(kiosk.settings.installer_dir) / "status.json"
    # The installer restarts the daemon: the old one stops, the new version starts.
    await kiosk.agent.stop()
    phases.write(status, Progress("0.2.0", Phase.RESTARTED, "cmd-1", "0.1.0").as_dict(), 0o644)
    new = Kiosk(tmp_path, mirror, installed="0.2.0")
    await new.agent.start()
    try:
        await new.reached(Phase.RESTARTED)
        phases.write(status, Progress("0.2.0", Phase.HEALTHY, "cmd-1", "0.1.0").as_dict(), 0o644)
        await new.reached(Phase.HEALTHY)
        assert new.seen() == ["restarted", "healthy"]  # nothing reported twice
        assert new.agent.state()["update"]["phase"] == "healthy"
    finally:
        await new.agent.stop()


async def test_a_rolled_back_update_is_reported_by_the_old_version(
    tmp_path: Path, kiosk: Kiosk, mirror: Mirror
) -> None:
    await kiosk.agent.offer(signed(mirror), False, "cmd-1")
    await kiosk.reached(Phase.INSTALLING)
    await kiosk.agent.stop()
    status = Path(kiosk.settings.installer_dir) / "status.json"
    detail = "not healthy within 5 s: the daemon exited; 0.1.0 reinstalled"
    phases.write(
        status, Progress("0.2.0", Phase.ROLLED_BACK, "cmd-1", "0.1.0", detail).as_dict(), 0o644
    )
    old = Kiosk(tmp_path, mirror, installed="0.1.0")
    await old.agent.start()
    try:
        await old.reached(Phase.ROLLED_BACK)
        assert old.phases[-1].detail == detail
    finally:
        await old.agent.stop()


async def test_a_forged_release_is_refused_before_any_download(
    kiosk: Kiosk, mirror: Mirror
) -> None:
    with pytest.raises(SignatureError):
        await kiosk.agent.offer(signed(mirror, signer=FORGER), False, "cmd-1")
    document = json.loads(signed(mirror))
    document["release"]["packages"][0]["sha256"] = "0" * 64  # another kiosk's tampering
    with pytest.raises(SignatureError):
        await kiosk.agent.offer(json.dumps(document), False, "cmd-2")
    with pytest.raises(VersionError, match="older"):
        await kiosk.agent.offer(signed(mirror, "0.0.5", min_version="0"), False, "cmd-3")
    assert mirror.requests == []
    assert kiosk.phases == []
    assert not (kiosk.agent.spool / REQUEST).exists()


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        (lambda data: bytes(len(data)), "SHA-256"),  # same size, other bytes
        (lambda data: data + b"more", "bytes"),  # larger than the manifest says
        (lambda data: data[:1000], "bytes"),  # cut short
    ],
)
async def test_a_package_that_is_not_the_manifests_is_refused_before_install(
    kiosk: Kiosk, mirror: Mirror, served: Any, reason: str
) -> None:
    name = "govkiosk_0.2.0_all.deb"
    mirror.overrides[name] = served((mirror.directory / name).read_bytes())
    await kiosk.agent.offer(signed(mirror), False, "cmd-1")
    await kiosk.reached(Phase.FAILED)
    assert reason in kiosk.phases[-1].detail
    assert "installing" not in kiosk.seen()
    assert not (kiosk.agent.spool / REQUEST).exists()
    assert not (kiosk.agent.spool / "releases" / "0.2.0").exists()


async def test_it_waits_for_an_idle_kiosk_outside_service_hours(
    kiosk: Kiosk, mirror: Mirror
) -> None:
    kiosk.busy = True
    kiosk.now = NOON
    await kiosk.agent.offer(signed(mirror), False, "cmd-1")
    await kiosk.reached(Phase.WAITING_IDLE)
    assert kiosk.phases[-1].detail == "the kiosk is serving"
    kiosk.busy = False
    kiosk.agent.wake()
    await eventually(
        lambda: (
            kiosk.agent.progress is not None
            and kiosk.agent.progress.detail == "within service hours"
        ),
        "waiting for the end of service hours",
    )
    assert not (kiosk.agent.spool / REQUEST).exists()
    kiosk.now = NIGHT
    await kiosk.reached(Phase.INSTALLING)
    assert (kiosk.agent.spool / REQUEST).exists()


async def test_force_installs_within_service_hours_but_never_during_a_session(
    kiosk: Kiosk, mirror: Mirror
) -> None:
    kiosk.now = NOON
    await kiosk.agent.offer(signed(mirror), True, "cmd-1")
    await kiosk.reached(Phase.INSTALLING)
    assert "waiting_idle" not in kiosk.seen()


def test_service_hours() -> None:
    assert in_hours(("08:00-18:00",), NOON)
    assert not in_hours(("08:00-18:00",), NIGHT)
    assert in_hours(("22:00-06:00",), NIGHT)  # over midnight
    assert not in_hours((), NOON)
    assert not in_hours(("08:00-12:00",), NOON)  # the end is not in the window


async def test_a_spool_that_cannot_be_written_fails_the_update(
    kiosk: Kiosk, mirror: Mirror
) -> None:
    kiosk.agent.spool.mkdir(parents=True, exist_ok=True)
    (kiosk.agent.spool / "releases").write_text("not a directory")
    await kiosk.agent.offer(signed(mirror), False, "cmd-1")
    await kiosk.reached(Phase.FAILED)
    assert "the spool cannot be written" in kiosk.phases[-1].detail
    assert not (kiosk.agent.spool / REQUEST).exists()
