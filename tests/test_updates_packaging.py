"""Updates with real packages (``make package-test``, marker ``packaging``, as root).

The deb ``make deb`` builds (0.1.0) is installed with apt; a second version (0.1.1) and a
broken one (0.1.2, whose daemon exits at once) are repacked from it with ``dpkg-deb`` and
served over HTTPS on loopback (a test site CA). The installed daemon, on a private D-Bus
with the packaged policy, verifies each offered release and downloads it into its spool;
the installed ``govkiosk-update`` then runs as root. No systemd runs as PID 1 here, so it
manages the daemon as a child process (``--service-manager process``: READY=1 read from
its own notification socket, then the daemon's status on its bus) — the only part not
run as on a kiosk is ``systemctl restart`` / ``is-active``.

Proved: good update → 0.1.1 installed, running and healthy; broken update → rolled back
to 0.1.1, reported; a package or manifest tampered with in the spool (what a compromised
daemon could do) → refused before install, nothing installed.

The scratch directory is under /tmp, not pytest's tmp_path: the daemon runs as user
govkiosk, which cannot enter root's 0700 pytest directories.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest

from govkiosk.contract.names import UPDATES_INTERFACE
from govkiosk.dbus.call import call
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.release import release_body
from govkiosk.ops.signing import OperatorSigner
from govkiosk.updates import manifest
from harness.eventually import eventually
from harness.fleetsim import later_kiosks, simulated
from harness.mirror import Mirror
from harness.opssite import Site

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
VERSION = re.search(
    r'__version__ = "(.*)"', (ROOT / "daemon/govkiosk/__init__.py").read_text()
).group(1)  # type: ignore[union-attr]
DEB = ROOT / "dist" / f"govkiosk_{VERSION}_all.deb"
KIOSK_ID = "pkg-update-0001"
GOOD = "0.1.1"
BROKEN = "0.1.2"
#: Installed while the installer is killed (a power cut), in each of dpkg's phases.
CUT_SHORT = {
    "unpacking": ("preinst", "0.1.3", "installed again"),  # the old version was still in
    "configuring": ("postinst", "0.1.4", "completed"),
}
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
APT_ENV = {**SYSTEM_ENV, "DEBIAN_FRONTEND": "noninteractive"}
KEY = OperatorSigner.generate("release-pkg-test")
FORGER = OperatorSigner.generate("release-pkg-test")
HEALTH_TIMEOUT = 90

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>/usr/share/dbus-1/system.d/cn.govkiosk.Kiosk1.conf</include>
</busconfig>
"""


def run(
    *args: str, timeout: float = 900, env: Dict[str, str] = SYSTEM_ENV
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, check=False, capture_output=True, text=True, timeout=timeout, env=env
    )


def repack(
    source: Path,
    version: str,
    out: Path,
    *,
    broken: bool = False,
    hold: Optional[Tuple[str, Path]] = None,
) -> Path:
    """``source`` as ``version``: control and ``__version__`` changed; ``broken``: a daemon
    that exits at once; ``hold`` (script, directory): that maintainer script (preinst: dpkg
    is unpacking; postinst: configuring) writes ``held`` in the directory, then waits
    until ``go-on`` appears there."""
    tree = out / f"tree-{version}"
    shutil.rmtree(tree, ignore_errors=True)
    assert run("dpkg-deb", "-R", str(source), str(tree)).returncode == 0
    control = tree / "DEBIAN/control"
    control.write_text(
        re.sub(r"^Version: .*$", f"Version: {version}", control.read_text(), flags=re.M)
    )
    init = tree / "usr/lib/govkiosk/python/govkiosk/__init__.py"
    init.write_text(re.sub(r'__version__ = ".*"', f'__version__ = "{version}"', init.read_text()))
    (tree / "DEBIAN/md5sums").unlink(missing_ok=True)
    if broken:
        (tree / "usr/sbin/govkioskd").write_text(
            "#!/bin/sh\necho 'govkioskd: broken build' >&2\nexit 1\n"
        )
    if hold is not None:
        name, directory = hold
        script = tree / "DEBIAN" / name
        text = script.read_text() if script.exists() else "#!/bin/sh\nexit 0\n"
        shebang, _, rest = text.partition("\n")
        wait = f"touch {directory}/held\nwhile [ ! -e {directory}/go-on ]; do sleep 0.1; done\n"
        script.write_text(f"{shebang}\n{wait}{rest}")
        script.chmod(0o755)
    target = out / f"govkiosk_{version}_all.deb"
    built = run("dpkg-deb", "--root-owner-group", "-b", str(tree), str(target))
    assert built.returncode == 0, built.stderr
    shutil.rmtree(tree)
    return target


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    path = Path(f"/tmp/govkiosk-upd-{os.getpid()}")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pool(scratch: Path) -> Path:
    if not DEB.exists():
        built = run("make", "deb", timeout=1800, env={**os.environ})
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    directory = scratch / "pool"
    directory.mkdir()
    shutil.copyfile(DEB, directory / DEB.name)
    repack(DEB, GOOD, directory)
    repack(DEB, BROKEN, directory, broken=True)
    return directory


@pytest.fixture(scope="module")
def installed(pool: Path) -> Iterator[None]:
    result = run(
        "apt-get",
        "install",
        "-y",
        "-q",
        "-o",
        "DPkg::Lock::Timeout=300",
        str(pool / DEB.name),
        env=APT_ENV,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield
    if run("dpkg-query", "-W", "govkiosk").returncode == 0:
        run(
            "apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "govkiosk", env=APT_ENV
        )


def installed_version() -> str:
    return run("dpkg-query", "-W", "-f=${Version}", "govkiosk").stdout


class Kiosk:
    """The installed daemon as user govkiosk on a private bus; the installer's command lines."""

    def __init__(self, scratch: Path, mirror: Mirror) -> None:
        self.scratch = scratch
        self.socket = scratch / "bus"
        self.address = f"unix:path={self.socket}"
        self.state = scratch / "state"
        self.installer = scratch / "installer"
        self.pidfile = scratch / "daemon.pid"
        for sub in ("state", "sys"):
            (scratch / sub).mkdir()
            shutil.chown(scratch / sub, "govkiosk", "govkiosk")
        self.config = scratch / "govkiosk.toml"
        self.config.write_text(
            f"""[kiosk]
id = "{KIOSK_ID}"
[daemon]
bus = "{self.address}"
[devices.usb]
sysfs = "{scratch / "sys"}"
[updates]
mirror = "{mirror.base_url}"
mirror_ca = "{mirror.ca_file}"
service_hours = []
installer_dir = "{self.installer}"
health_timeout = {HEALTH_TIMEOUT}
recheck = 0.5

[[updates.release_keys]]
key_id = "{KEY.key_id}"
public_key = "{KEY.public_b64()}"
"""
        )
        (scratch / "bus.conf").write_text(_BUS_CONFIG.format(socket=self.socket))
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--config-file", str(scratch / "bus.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=SYSTEM_ENV,
        )  # fmt: skip
        self.first: Optional[subprocess.Popen[bytes]] = None
        self.daemon_command = (
            "setpriv --reuid=govkiosk --regid=govkiosk --init-groups /usr/sbin/govkioskd"
            f" --config {self.config} --state-dir {self.state}"
        )

    def updater_args(self, *args: str) -> List[str]:
        return [
            "/usr/sbin/govkiosk-update", "--config", str(self.config), "--state-dir", str(self.state),
            "--service-manager", "process", "--daemon-command", self.daemon_command,
            "--pidfile", str(self.pidfile), "--bus", self.address, *args,
        ]  # fmt: skip

    def updater(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(*self.updater_args(*args))

    def restart_daemon(self) -> None:
        """Stop the daemon the installer started last; start it again (a new configuration)."""
        pid = int(self.pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
            assert time.monotonic() < deadline, "the daemon does not stop"
            time.sleep(0.1)
        self.start_daemon()

    def start_daemon(self) -> None:
        if self.first is not None:  # the one started before, stopped by now: reaped
            self.first.wait(timeout=30)
        with (self.scratch / "first-daemon.log").open("ab") as log:
            self.first = subprocess.Popen(
                self.daemon_command.split(), stdout=log, stderr=log,
                env=SYSTEM_ENV, start_new_session=True,
            )  # fmt: skip
        self.pidfile.write_text(f"{self.first.pid}\n")

    def status(self, timeout: float = 180) -> Dict[str, Any]:
        """The daemon's own status once it answers (polled: it is another process)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = run(
                    "/usr/bin/govkioskctl", "--bus", self.address, "--json", "status", timeout=30
                )
            except subprocess.TimeoutExpired:  # a daemon still starting on a busy machine
                assert time.monotonic() < deadline, "the daemon does not answer"
                continue
            if result.returncode == 0:
                return dict(json.loads(result.stdout))
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.5)

    def offer(self, signed: Dict[str, Any], offer_id: str) -> Dict[str, Any]:
        (state,) = asyncio.run(
            call(
                self.address,
                UPDATES_INTERFACE,
                "Offer",
                "sbs",
                [json.dumps(signed), True, offer_id],
            )
        )
        return dict(json.loads(state))

    def update_state(self) -> Dict[str, Any]:
        (state,) = asyncio.run(call(self.address, UPDATES_INTERFACE, "GetState"))
        return dict(json.loads(state))

    def wait_requested(self, timeout: float = 120) -> None:
        request = self.state / "updates" / "request.json"
        deadline = time.monotonic() + timeout
        while not request.exists():
            assert time.monotonic() < deadline, self.update_state()
            time.sleep(0.2)

    def installer_status(self) -> Dict[str, Any]:
        return dict(json.loads((self.installer / "status.json").read_text()))

    def stop(self) -> None:
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        if self.first is not None:  # stopped by the installer's first restart: reaped here
            self.first.wait(timeout=30)
        self.bus.terminate()
        self.bus.wait(timeout=10)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def signed(pool: Path, version: str, signer: OperatorSigner = KEY) -> Dict[str, Any]:
    body = release_body(version, [pool / f"govkiosk_{version}_all.deb"], min_version=VERSION)
    return manifest.sign(body, signer)


@pytest.fixture(scope="module")
def mirror(scratch: Path, pool: Path) -> Iterator[Mirror]:
    server = Mirror(pool, CertificateAuthority(), scratch / "pki")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kiosk(installed: None, scratch: Path, mirror: Mirror) -> Iterator[Kiosk]:
    kiosk = Kiosk(scratch, mirror)
    yield kiosk
    kiosk.stop()


def test_good_update_then_broken_update_rolled_back(
    kiosk: Kiosk, pool: Path, mirror: Mirror
) -> None:
    # No kept packages yet: the first update would have nothing to roll back to.
    adopted = kiosk.updater("adopt", str(pool / DEB.name))
    assert adopted.returncode == 0, adopted.stderr
    kiosk.start_daemon()
    assert kiosk.status()["kiosk"]["version"] == VERSION

    # A good release: verified and downloaded by the unprivileged daemon, installed by root.
    state = kiosk.offer(signed(pool, GOOD), "offer-good")
    assert state["update"]["version"] == GOOD
    kiosk.wait_requested()
    assert mirror.requests == [f"govkiosk_{GOOD}_all.deb"]
    result = kiosk.updater("install")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{GOOD}: healthy" in result.stdout
    assert installed_version() == GOOD
    status = kiosk.status()
    assert status["kiosk"]["version"] == GOOD
    assert kiosk.installer_status()["phase"] == "healthy"
    assert (kiosk.installer / "current").read_text().strip() == GOOD
    # The new daemon read the installer's status and reported the update healthy.
    deadline = time.monotonic() + 30
    while kiosk.update_state()["update"]["phase"] != "healthy":
        assert time.monotonic() < deadline, kiosk.update_state()
        time.sleep(0.2)

    # A broken release: installed, never healthy, the kept 0.1.1 reinstalled.
    kiosk.offer(signed(pool, BROKEN), "offer-broken")
    kiosk.wait_requested()
    result = kiosk.updater("install")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{BROKEN}: rolled_back" in result.stdout
    assert installed_version() == GOOD
    assert kiosk.status()["kiosk"]["version"] == GOOD
    reported = kiosk.installer_status()
    assert reported["phase"] == "rolled_back"
    assert "the daemon exited" in reported["detail"]
    assert f"{GOOD} reinstalled" in reported["detail"]
    deadline = time.monotonic() + 30
    while kiosk.update_state()["update"]["phase"] != "rolled_back":
        assert time.monotonic() < deadline, kiosk.update_state()
        time.sleep(0.2)


def _spool(
    kiosk: Kiosk, version: str, document: Dict[str, Any], package: Path, offer_id: str
) -> None:
    """What a compromised daemon could put in its spool."""
    releases = kiosk.state / "updates" / "releases" / version
    shutil.rmtree(releases, ignore_errors=True)
    releases.mkdir(parents=True)
    (releases / "release.json").write_text(json.dumps(document))
    shutil.copyfile(package, releases / f"govkiosk_{version}_all.deb")
    request = {"version": version, "offer_id": offer_id, "force": True, "at": time.time()}
    (kiosk.state / "updates" / "request.json").write_text(json.dumps(request))


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("package", "larger than the manifest"),
        ("hash", "size or SHA-256"),
        ("signature", "does not verify"),
        ("downgrade", "older"),
    ],
)
def test_what_the_daemon_hands_over_is_checked_again_before_install(
    kiosk: Kiosk, pool: Path, tamper: str, reason: str
) -> None:
    before = installed_version()
    if tamper == "package":  # a signed manifest, another package under its name
        _spool(kiosk, BROKEN, signed(pool, BROKEN), pool / DEB.name, "t-package")
        version = BROKEN
    elif tamper == "hash":  # the signed package with one byte changed
        data = bytearray((pool / f"govkiosk_{BROKEN}_all.deb").read_bytes())
        data[-100] ^= 0xFF
        changed = kiosk.scratch / "changed.deb"
        changed.write_bytes(bytes(data))
        _spool(kiosk, BROKEN, signed(pool, BROKEN), changed, "t-hash")
        version = BROKEN
    elif tamper == "signature":
        _spool(
            kiosk,
            BROKEN,
            signed(pool, BROKEN, FORGER),
            pool / f"govkiosk_{BROKEN}_all.deb",
            "t-sig",
        )
        version = BROKEN
    else:  # a properly signed older version, not marked as a rollback
        _spool(kiosk, VERSION, signed(pool, VERSION), pool / DEB.name, "t-down")
        version = VERSION
    result = kiosk.updater("install")
    assert result.returncode == 1
    status = kiosk.installer_status()
    assert status["version"] == version
    assert status["phase"] == "failed"
    assert "refused before install" in status["detail"]
    assert reason in status["detail"]
    assert installed_version() == before
    assert not (kiosk.state / "updates" / "request.json").exists()  # taken, not retried
    shutil.rmtree(kiosk.state / "updates" / "releases")  # root's, which the daemon cannot remove


async def _rollout(kiosk: Kiosk, site: Site, release: Path, admin_key: Path) -> Tuple[int, str]:
    """``fleet release run`` to the canary (the installed daemon) and nine simulated kiosks,
    while the real installer carries out whatever the daemon requests."""
    identity = site.identity("ops-admin")
    others = later_kiosks(KIOSK_ID, 9, "pkg-update-")
    seen: List[Tuple[str, str]] = []
    ups = [asyncio.Event() for _ in others]
    sims = [asyncio.ensure_future(simulated(site, k, GOOD, seen, u)) for k, u in zip(others, ups)]

    async def installer() -> str:
        request = kiosk.state / "updates" / "request.json"
        await eventually(request.exists, "the daemon's request", 600)
        process = await asyncio.create_subprocess_exec(
            *kiosk.updater_args("install"), env=SYSTEM_ENV,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await process.communicate()
        return out.decode()

    installing = asyncio.ensure_future(installer())
    try:
        await asyncio.wait_for(asyncio.gather(*(u.wait() for u in ups)), 60)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "govkiosk.cli.main", "fleet", "release", "run",
            "--state", str(kiosk.scratch / "rollout.json"), "--release", str(release),
            "--waves", "5,50,100", "--wave-timeout", "300", "--timeout", "120",
            "--kiosk", KIOSK_ID, *[a for k in others for a in ("--kiosk", k)],
            "--broker", f"{identity.host}:{identity.port}", "--ca", str(identity.ca),
            "--cert", str(identity.cert), "--key", str(identity.key),
            "--signing-key", str(admin_key), "--issuer", "release-manager",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), 900)
        installed = await asyncio.wait_for(installing, 60)
        assert seen == []  # the next waves were never offered the release
        return process.returncode or 0, out.decode() + installed
    finally:
        installing.cancel()
        for sim in sims:
            sim.cancel()
        await asyncio.gather(installing, *sims, return_exceptions=True)


def test_a_broken_release_rolled_out_pauses_at_the_canary(
    kiosk: Kiosk, pool: Path, scratch: Path
) -> None:
    """The issue's target with nothing stood in but systemd: real packages, apt, rollback."""
    assert installed_version() == GOOD
    site = Site.create(scratch / "site")
    try:
        ops = site.ops_section(KIOSK_ID)
        for path in (site.directory / "pki").glob(f"{KIOSK_ID}.*"):
            shutil.chown(path, "govkiosk", "govkiosk")  # the daemon's own certificate and key
        kiosk.config.write_text(kiosk.config.read_text() + "\n" + ops + "\n")
        kiosk.restart_daemon()
        assert kiosk.status()["kiosk"]["version"] == GOOD
        keys = scratch / "keys"
        keys.mkdir(exist_ok=True)
        release = keys / "release.json"
        release.write_text(json.dumps(signed(pool, BROKEN)))
        admin = site.signers["admin"]
        admin_key = keys / f"{admin.key_id}.key"
        admin_key.write_bytes(admin.private_pem())

        code, out = asyncio.run(_rollout(kiosk, site, release, admin_key))
        assert code == 4, out  # paused
        assert f"{KIOSK_ID}: rolled_back" in out
        assert f"{BROKEN}: rolled_back" in out  # the installer's own line
        assert installed_version() == GOOD
        assert kiosk.status()["kiosk"]["version"] == GOOD
        summary = json.loads((scratch / "rollout.json").read_text())
        assert summary["status"] == "paused"
        assert summary["wave"] == 1
        assert summary["waves"][1]["started_at"] == 0
    finally:
        site.stop()


def _package_status() -> str:
    return run("dpkg-query", "-W", "-f=${Status}", "govkiosk").stdout


def _parents() -> Dict[int, int]:
    """Every process's parent."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(entry.name)] = int(stat[1])
    return parents


def _power_cut(root: int) -> None:
    """Stop a process and all it started (apt runs dpkg in a session of its own), then
    SIGKILL them all at once, as a power cut ends them: stopped, none can start another."""
    tree: Set[int] = set()
    frontier = {root}
    while frontier:
        for pid in frontier:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        tree |= frontier
        frontier = {pid for pid, parent in _parents().items() if parent in tree} - tree
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("phase", list(CUT_SHORT))
def test_an_installation_cut_short_is_repaired_and_completed(
    kiosk: Kiosk, pool: Path, scratch: Path, phase: str
) -> None:
    """The installer and everything it started killed while dpkg unpacks or configures the
    new package: apt refuses to work ("reinstall required" / "dpkg was interrupted");
    ``govkiosk-update recover`` (the boot unit's command) repairs it with the set it kept
    and keeps the new version once it runs healthy."""
    script, version, outcome = CUT_SHORT[phase]
    hold = scratch / f"hold-{phase}"
    hold.mkdir()
    repack(DEB, version, pool, hold=(script, hold))
    kiosk.offer(signed(pool, version), f"offer-cut-{phase}")
    kiosk.wait_requested()
    with (scratch / f"cut-short-{phase}.log").open("wb") as log:
        installer = subprocess.Popen(
            kiosk.updater_args("install"), stdout=log, stderr=log, env=SYSTEM_ENV,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not (hold / "held").exists():  # the maintainer script runs: dpkg is mid-way
            assert installer.poll() is None, (scratch / f"cut-short-{phase}.log").read_text()
            assert time.monotonic() < deadline, _package_status()
            time.sleep(0.2)
        _power_cut(installer.pid)
        installer.wait(timeout=60)
        assert kiosk.installer_status()["phase"] == "installing"
        assert _package_status() != "install ok installed", _package_status()
        assert run("apt-get", "check", env=APT_ENV).returncode != 0  # apt refuses to work
    finally:
        if installer.poll() is None:  # the test failed before the cut: leave no dpkg behind
            _power_cut(installer.pid)
            installer.wait(timeout=60)
        (hold / "go-on").touch()  # the held script may finish, now or when dpkg is repaired
    result = kiosk.updater("recover")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{version}: healthy interrupted while installing; {outcome}" in result.stdout
    assert _package_status() == "install ok installed"
    assert run("apt-get", "check", env=APT_ENV).returncode == 0
    assert installed_version() == version
    assert kiosk.status()["kiosk"]["version"] == version
    assert (kiosk.installer / "current").read_text().strip() == version
    again = kiosk.updater("recover")  # the next boot: nothing to do
    assert "nothing was cut short" in again.stdout
