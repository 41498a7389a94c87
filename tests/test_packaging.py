"""The deb and rpm packages: built, linted, installed on this machine, run, purged.

`make package-test` runs these alone (`pytest -m packaging`). They install the built deb
with apt on this machine and run the installed daemon with the system Python, Debian's
python3-* packages and the vendored libraries — not the virtualenv — as user govkiosk on a
private D-Bus that enforces the packaged bus policy.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

import pytest

#: Building the five packages takes a few minutes on a busy machine: the first test waits.
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
sys.path.insert(0, str(ROOT / "packaging"))
import depends  # noqa: E402

VERSION = re.search(
    r'__version__ = "(.*)"', (ROOT / "daemon/govkiosk/__init__.py").read_text()
).group(1)  # type: ignore[union-attr]
DEB = DIST / f"govkiosk_{VERSION}_all.deb"
UI_DEB = DIST / f"govkiosk-ui_{VERSION}_all.deb"
RPM = DIST / f"govkiosk-{VERSION}-1.noarch.rpm"
UI_RPM = DIST / f"govkiosk-ui-{VERSION}-1.noarch.rpm"
FLEET_DEB = DIST / f"govkiosk-fleet_{VERSION}_all.deb"
FLEET_RPM = DIST / f"govkiosk-fleet-{VERSION}-1.noarch.rpm"
#: What govkiosk-fleet ships (docs/fleet-metrics.md), and the kiosk package does not.
FLEET_FILES = {
    "/lib/systemd/system/govkiosk-fleet.service",
    "/etc/govkiosk-fleet/metrics.toml",
    "/usr/share/govkiosk-fleet/grafana-dashboard.json",
    "/usr/share/govkiosk-fleet/alert-rules.yml",
}
EXPOSURE_LIMIT = 2.5
#: What `apt-get purge` leaves on purpose (docs/install.md, "Removal"): user and groups.
KEPT_ACCOUNTS = ("govkiosk", "govkiosk-ui", "govkiosk-admin")
SYSTEM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        args, check=False, capture_output=True, text=True, timeout=600, **kwargs
    )


@pytest.fixture(scope="module")
def packages() -> Dict[str, Path]:
    for path in (DEB, UI_DEB, RPM, UI_RPM, FLEET_DEB, FLEET_RPM):
        path.unlink(missing_ok=True)
    built = run("make", "deb", "rpm", cwd=ROOT)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return {
        "deb": DEB,
        "ui_deb": UI_DEB,
        "rpm": RPM,
        "ui_rpm": UI_RPM,
        "fleet_deb": FLEET_DEB,
        "fleet_rpm": FLEET_RPM,
    }


def _requirement_names(text: str) -> Set[str]:
    return {
        depends.normalise(re.split(r"[\s;<>=!~\[]", line.strip(), maxsplit=1)[0])
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    }


def test_dependency_table_covers_setup_cfg_and_the_lock() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    needed = _requirement_names(setup["options"]["install_requires"])
    needed |= _requirement_names(setup["options.extras_require"]["ui"])
    table = {depends.normalise(row.name): row for row in depends.read_table()}
    assert needed - set(table) == set(), "add these to packaging/depends.txt"
    pins = depends.read_pins()
    lock = (ROOT / "packaging/vendor.txt").read_text()
    locked = dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\$", lock, re.MULTILINE))
    vendored = {name: pins.get(name) for name, row in table.items() if row.source == "vendor"}
    assert locked == vendored, "run packaging/vendor.sh lock"
    guide = (ROOT / "docs/install.md").read_text()
    unmet = [row.name for row in table.values() if row.source == "unmet"]
    assert [name for name in unmet if name.lower() not in guide.lower()] == []


def test_package_versions_agree_with_the_code() -> None:
    changelog = (ROOT / "packaging/debian/changelog").read_text()
    spec = (ROOT / "packaging/rpm/govkiosk.spec").read_text()
    assert changelog.startswith(f"govkiosk ({VERSION})")
    assert re.search(rf"^Version:\s+{re.escape(VERSION)}$", spec, re.MULTILINE)


def test_lintian_reports_no_errors(packages: Dict[str, Path]) -> None:
    result = run(
        "lintian", str(packages["deb"]), str(packages["ui_deb"]), str(packages["fleet_deb"])
    )
    print(result.stdout)
    assert [line for line in result.stdout.splitlines() if line.startswith("E:")] == []


def test_rpmlint_reports_no_errors(packages: Dict[str, Path]) -> None:
    rc = str(ROOT / "packaging/rpm/govkiosk.rpmlintrc")
    rpms = (str(packages[name]) for name in ("rpm", "ui_rpm", "fleet_rpm"))
    result = run("rpmlint", "-r", rc, *rpms)
    print(result.stdout)
    assert re.search(r"\b0 errors\b", result.stdout), result.stdout


def _deb_files(path: Path) -> Set[str]:
    contents = run("dpkg-deb", "-c", str(path)).stdout
    return {
        "/" + line.split(None, 5)[5].split(" -> ")[0].lstrip("./")
        for line in contents.splitlines()
        if not line.startswith("d")
    }


def _rpm_files(path: Path) -> Set[str]:
    return set(run("rpm", "-qlp", str(path)).stdout.split())


def _comparable(files: Set[str]) -> Set[str]:
    """Same layout across families: /lib is /usr/lib; docs, bytecode and helpers differ."""
    return {
        re.sub(r"^/lib/", "/usr/lib/", f)
        for f in files
        if "__pycache__" not in f
        and not f.startswith("/usr/share/doc/")
        and not f.startswith("/usr/share/python3/runtime.d/")
    }


def test_rpm_has_the_debs_files_and_scripts(packages: Dict[str, Path]) -> None:
    for deb, rpm in (("deb", "rpm"), ("ui_deb", "ui_rpm"), ("fleet_deb", "fleet_rpm")):
        deb_files = _comparable(_deb_files(packages[deb]))
        rpm_files = _comparable(_rpm_files(packages[rpm]) - _rpm_dirs(packages[rpm]))
        assert deb_files == rpm_files
    rpm_scripts = run("rpm", "-qp", "--scripts", str(packages["rpm"])).stdout
    deb_scripts = run("dpkg-deb", "-I", str(packages["deb"]), "postinst").stdout
    deb_scripts += run("dpkg-deb", "-I", str(packages["deb"]), "prerm").stdout
    for step in (
        "systemd-sysusers",
        "systemd-tmpfiles",
        "udevadm trigger --subsystem-match=usb --action=change",
        "try-restart govkioskd.service",
        "govkiosk-backup.timer",
        "govkiosk-update-recover.service",  # enabled: it runs at every boot
    ):
        assert step in rpm_scripts
        assert step in deb_scripts
    # Removal stops the daemon in both.
    assert "disable --now govkioskd.service" in rpm_scripts
    assert "stop govkioskd.service" in deb_scripts
    # Neither family enables or starts the daemon on installation (it seals USB).
    assert "enable --now govkioskd" not in rpm_scripts
    assert "enable 'govkioskd.service'" not in deb_scripts.split("was-enabled")[0]


def test_fleet_package_ships_the_fleet_files_and_the_kiosk_package_none(
    packages: Dict[str, Path],
) -> None:
    fleet = _deb_files(packages["fleet_deb"])
    assert {f for f in fleet if not f.startswith("/usr/share/doc/")} == FLEET_FILES
    assert any(f.startswith("/usr/share/doc/govkiosk-fleet/fleet-metrics") for f in fleet)
    for name in ("deb", "ui_deb", "rpm", "ui_rpm"):
        files = _deb_files(packages[name]) if "deb" in name else _rpm_files(packages[name])
        assert not any("govkiosk-fleet" in f for f in files), name
    fleet_rpm = _comparable(_rpm_files(packages["fleet_rpm"]) - _rpm_dirs(packages["fleet_rpm"]))
    assert fleet_rpm == _comparable(FLEET_FILES)
    depends = run("dpkg-deb", "-f", str(packages["fleet_deb"]), "Depends").stdout
    assert f"govkiosk (= {VERSION})" in depends
    conffiles = run("dpkg-deb", "-I", str(packages["fleet_deb"]), "conffiles").stdout
    assert "/etc/govkiosk-fleet/metrics.toml" in conffiles


def _rpm_dirs(path: Path) -> Set[str]:
    out = run("rpm", "-qlvp", str(path)).stdout
    return {line.split()[-1] for line in out.splitlines() if line.startswith("d")}


# --- The deb installed on this machine -----------------------------------------------------


@pytest.fixture(scope="module")
def installed(packages: Dict[str, Path]) -> Iterator[None]:
    # No systemd as PID 1 here: the maintainer scripts must cope (docs/install.md).
    env = {**SYSTEM_ENV, "DEBIAN_FRONTEND": "noninteractive"}
    result = run("apt-get", "install", "-y", "-q", str(packages["deb"]), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield
    if run("dpkg-query", "-W", "govkiosk").returncode == 0:
        run("apt-get", "purge", "-y", "-q", "govkiosk", env=env)


def test_installed_units_verify_and_the_daemon_is_hardened(installed: None) -> None:
    units = [f"/lib/systemd/system/{u}" for u in ("govkioskd.service", "govkiosk-backup.service")]
    units.append("/lib/systemd/system/govkiosk-backup.timer")
    units += [
        f"/lib/systemd/system/govkiosk-update{u}" for u in (".service", ".path", "-recover.service")
    ]
    verify = run("systemd-analyze", "verify", "--man=no", *units)
    assert verify.returncode == 0, verify.stderr
    security = run("systemd-analyze", "security", "--offline=true", units[0])
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)[1])  # type: ignore[index]
    print(f"govkioskd.service exposure: {exposure}")
    assert exposure <= EXPOSURE_LIMIT


def test_installed_daemon_runs_on_the_system_python(installed: None) -> None:
    checked = run("/usr/sbin/govkioskd", "--check-config", env=SYSTEM_ENV)
    assert checked.returncode == 0, checked.stderr
    assert "configuration is valid: /etc/govkiosk/govkiosk.toml" in checked.stdout
    which = run(
        "/usr/bin/python3", "-I", "-c",
        "import sys; sys.path[:0] = ['/usr/lib/govkiosk/python', '/usr/lib/govkiosk/vendor'];"
        "import govkiosk, dbus_next, serial, pyudev, aiomqtt; "
        "print(govkiosk.__file__, dbus_next.__file__, serial.__file__, pyudev.__file__, aiomqtt.__file__)",
    )  # fmt: skip
    paths = which.stdout.split()
    assert paths[0].startswith("/usr/lib/govkiosk/python/")
    assert paths[1].startswith("/usr/lib/govkiosk/vendor/")
    assert paths[2].startswith("/usr/lib/python3/dist-packages/")  # Debian's python3-serial
    assert paths[3].startswith("/usr/lib/python3/dist-packages/")
    assert paths[4].startswith("/usr/lib/govkiosk/vendor/")


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

_CONFIG = """[kiosk]
id = "pkg-test-0001"
[daemon]
bus = "unix:path={socket}"
[devices.usb]
sysfs = "{sysfs}"
[[devices.static]]
role = "idcard"
port = "{port}"
[backup]
dir = "{backups}"
keep = 1
"""


def _as(user: str, *args: str) -> List[str]:
    """Run as ``user`` with its own groups (its primary group is its name or nogroup)."""
    group = user if run("getent", "group", user).returncode == 0 else "nogroup"
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups", *args]


class _Notifications:
    """The $NOTIFY_SOCKET end systemd would hold: collects the daemon's messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.seen: List[str] = []

    def close(self) -> None:
        self.sock.close()

    def wait_for(self, line: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.seen:
                return True
            try:
                self.seen += self.sock.recv(4096).decode().splitlines()
            except socket.timeout:
                continue
        return line in self.seen


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Readable by user govkiosk, which the daemon and the simulator run as.
    path = Path(f"/tmp/govkiosk-pkg-{os.getpid()}")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_installed_daemon_smoke_journey(installed: None, scratch: Path) -> None:
    bus_socket = scratch / "bus"
    (scratch / "bus.conf").write_text(_BUS_CONFIG.format(socket=bus_socket))
    for sub in ("sys", "state", "backups", "etc"):
        (scratch / sub).mkdir()
        shutil.chown(scratch / sub, "govkiosk", "govkiosk")
    procs: List[subprocess.Popen[str]] = []

    def start(*args: str, **kwargs: object) -> subprocess.Popen[str]:
        proc = subprocess.Popen(  # type: ignore[call-overload]
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=kwargs.pop("env", SYSTEM_ENV), **kwargs,
        )  # fmt: skip
        procs.append(proc)
        return proc  # type: ignore[no-any-return]

    notify: Optional[_Notifications] = None
    try:
        bus = start("dbus-daemon", "--nofork", "--config-file", str(scratch / "bus.conf"))
        sim = start(*_as("govkiosk", "/usr/bin/govkioskctl", "sim", "idcard"))
        first = sim.stdout.readline()  # type: ignore[union-attr]
        port = first.rsplit(" ", 1)[-1].strip()
        assert port.startswith("/dev/pts/"), first
        config = scratch / "etc/govkiosk.toml"
        config.write_text(
            _CONFIG.format(
                socket=bus_socket, sysfs=scratch / "sys", port=port, backups=scratch / "backups"
            )
        )
        notify = _Notifications(scratch / "notify")
        daemon = start(
            *_as("govkiosk", "/usr/sbin/govkioskd", "--config", str(config),
                 "--state-dir", str(scratch / "state")),
            env={**SYSTEM_ENV, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000"},
        )  # fmt: skip
        assert notify.wait_for("READY=1", 30), notify.seen
        assert notify.wait_for("WATCHDOG=1", 5)
        assert bus.poll() is None

        address = f"unix:path={bus_socket}"
        status = run("/usr/bin/govkioskctl", "--bus", address, "status", env=SYSTEM_ENV)
        assert status.returncode == 0, status.stderr
        assert "pkg-test-0001" in status.stdout
        devices = _wait_for_devices(address)
        assert re.search(rf"idcard\s+{re.escape(port)}", devices), devices

        # The packaged bus policy: a user outside the govkiosk groups may not call.
        denied = run(*_as("nobody", "/usr/bin/govkioskctl", "--bus", address, "status"))
        assert denied.returncode != 0
        assert "Rejected send message" in denied.stderr, denied.stderr
        # The UI's group may not take camera snapshots (§8 d): that is the engineers' tool.
        shot = str(scratch / "snapshot.jpg")
        snapshot = ("/usr/bin/govkioskctl", "--bus", address, "camera", "snapshot")
        ui_member = ("setpriv", "--reuid=nobody", "--regid=govkiosk-ui", "--clear-groups")
        refused = run(*ui_member, *snapshot, "face_camera_rgb", "--out", shot)
        assert refused.returncode != 0
        assert "Rejected send message" in refused.stderr, refused.stderr
        # Nor read the usage and 好差评 counts without the maintenance login (Kiosk1.Statistics).
        stats = ("/usr/bin/govkioskctl", "--bus", address, "stats")
        refused = run(*ui_member, *stats)
        assert refused.returncode != 0
        assert "Rejected send message" in refused.stderr, refused.stderr
        counted = run(*stats, env=SYSTEM_ENV)
        assert counted.returncode == 0, counted.stderr
        assert "nothing counted yet" in counted.stdout

        backup = run(
            *_as("govkiosk", "/usr/bin/govkioskctl", "backup", "--config", str(config),
                 "--state-dir", str(scratch / "state")),
        )  # fmt: skip
        assert backup.returncode == 0, backup.stderr
        made = sorted((scratch / "backups").iterdir())
        assert [p.name.startswith("govkiosk-") for p in made] == [True]
        # Encrypted with the key postinst made; it restores onto an empty directory.
        restored = run(
            "/usr/bin/govkioskctl", "restore", str(made[0]), "--key", "/etc/govkiosk/backup.key",
            "--state-dir", str(scratch / "restored/state"),
            "--config-dir", str(scratch / "restored/etc"),
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        assert (scratch / "restored/state/govkiosk.sqlite3").stat().st_size > 0

        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert notify.wait_for("STOPPING=1", 1)
    finally:
        if notify is not None:
            notify.close()
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.stdin is not None:
                proc.stdin.close()


def _wait_for_devices(address: str) -> str:
    deadline = time.monotonic() + 20
    out = ""
    while time.monotonic() < deadline:
        out = run("/usr/bin/govkioskctl", "--bus", address, "devices", env=SYSTEM_ENV).stdout
        if "idcard" in out:
            return out
        time.sleep(0.2)
    return out


def test_installed_fleet_package(installed: None, packages: Dict[str, Path]) -> None:
    env = {**SYSTEM_ENV, "DEBIAN_FRONTEND": "noninteractive"}
    result = run("apt-get", "install", "-y", "-q", str(packages["fleet_deb"]), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    try:
        unit = "/lib/systemd/system/govkiosk-fleet.service"
        verify = run("systemd-analyze", "verify", "--man=no", unit)
        assert verify.returncode == 0, verify.stderr
        # Installed, not enabled: it needs its broker and certificates first.
        assert not os.path.lexists(
            "/etc/systemd/system/multi-user.target.wants/govkiosk-fleet.service"
        )
        checked = run(
            "/usr/bin/govkioskctl",
            "fleet",
            "serve",
            "--check",
            "--config",
            "/etc/govkiosk-fleet/metrics.toml",
            env=SYSTEM_ENV,
        )
        assert checked.returncode == 0, checked.stderr
    finally:
        purged = run("apt-get", "purge", "-y", "-q", "govkiosk-fleet", env=env)
    assert purged.returncode == 0, purged.stderr
    assert not os.path.exists("/etc/govkiosk-fleet")
    assert not os.path.exists("/usr/share/govkiosk-fleet")


def test_purge_leaves_only_the_documented_files(installed: None) -> None:
    files = run("dpkg-query", "-L", "govkiosk").stdout.split()
    env = {**SYSTEM_ENV, "DEBIAN_FRONTEND": "noninteractive"}
    purged = run("apt-get", "purge", "-y", "-q", "govkiosk", env=env)
    assert purged.returncode == 0, purged.stderr
    left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
    assert left == []
    for path in (
        "/etc/govkiosk",
        "/var/lib/govkiosk",
        "/var/lib/govkiosk-promo",
        "/var/backups/govkiosk",
        "/usr/lib/govkiosk",
    ):
        assert not os.path.exists(path), path
    for account in KEPT_ACCOUNTS:  # kept on purpose: ids are not reused
        assert run("getent", "group", account).returncode == 0
