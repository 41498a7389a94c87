"""The shipped polkit rules, evaluated by polkit itself: a real ``polkitd`` on a private system bus.

polkitd reads its rules only from ``/etc/polkit-1/rules.d`` and ``/usr/share/polkit-1/rules.d``
and resolves user names through ``/etc/passwd``, so it runs in a mount namespace of its own
(``unshare -m``) where those are bind-mounted over with this test's files: the shipped
``50-govkiosk.rules`` alone, and a passwd naming two free uids ``govkiosk`` and ``visitor``.
The machine's own polkit, rules and users are not touched. ``pkcheck`` (polkit's client) then
asks the private polkitd about a process running as each uid. The action definitions are
the machine's (``org.freedesktop.login1.policy`` from systemd).

Needs root (mount namespace, processes under other uids), as CI has.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

from harness.process import Proc

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "packaging/polkit/50-govkiosk.rules"
PKLA = REPO / "packaging/polkit/50-govkiosk.pkla"
POLKITD = Path("/usr/lib/polkit-1/polkitd")
LOGIN1_POLICY = Path("/usr/share/polkit-1/actions/org.freedesktop.login1.policy")

#: What govkioskd asks of logind (PowerOff and Reboot, non-interactive) and what logind checks.
GRANTED = {
    "org.freedesktop.login1.power-off",
    "org.freedesktop.login1.power-off-multiple-sessions",
    "org.freedesktop.login1.power-off-ignore-inhibit",
    "org.freedesktop.login1.reboot",
    "org.freedesktop.login1.reboot-multiple-sessions",
    "org.freedesktop.login1.reboot-ignore-inhibit",
}
#: Neighbours that must stay refused without an administrator (their defaults are auth_admin*).
NOT_GRANTED = [
    "org.freedesktop.login1.suspend",
    "org.freedesktop.login1.hibernate",
    "org.freedesktop.login1.halt",
    "org.freedesktop.login1.set-reboot-parameter",
    "org.freedesktop.login1.set-reboot-to-firmware-setup",
    "org.freedesktop.timedate1.set-time",
    "org.freedesktop.login1.manage",
    "org.freedesktop.systemd1.manage-units",
]

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

MOUNT_AND_RUN = """set -e
mount --bind "$1" /etc/polkit-1/rules.d
mount --bind "$2" /usr/share/polkit-1/rules.d
mount --bind "$3" /etc/passwd
exec "$4"
"""


def _missing() -> str:
    if os.geteuid() != 0:
        return "needs root: a mount namespace for polkitd and processes under other uids"
    for tool in ("dbus-daemon", "unshare", "pkcheck"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make system-packages)"
    if not POLKITD.exists():
        return f"{POLKITD} is not installed (Debian package polkitd; make system-packages)"
    if not LOGIN1_POLICY.exists():
        return f"{LOGIN1_POLICY} is missing (Debian package systemd)"
    if subprocess.run(["unshare", "-m", "true"], check=False).returncode != 0:
        return "mount namespaces are not allowed here (unshare -m)"
    return ""


def _free_uids(count: int) -> List[int]:
    taken = {entry.pw_uid for entry in pwd.getpwall()}
    return [uid for uid in range(61000, 62000) if uid not in taken][:count]


def _actions(text: str) -> Set[str]:
    return set(re.findall(r"org\.freedesktop\.[a-z0-9]+\.[a-z0-9-]+", text))


class Polkit:
    def __init__(self, directory: Path) -> None:
        self.address = f"unix:abstract=/govkiosk-test/polkit-{secrets.token_hex(8)}"
        bus_config = directory / "bus.conf"
        bus_config.write_text(BUS_CONFIG.format(address=self.address))
        self.bus = Proc(
            [
                "dbus-daemon",
                "--nofork",
                "--nopidfile",
                "--print-address",
                f"--config-file={bus_config}",
            ],
            directory / "dbus-daemon.log",
        )
        self.bus.wait_ready(lambda: "abstract" in self.bus.output(), 5, "dbus-daemon")
        rules, empty = directory / "rules.d", directory / "empty.d"
        rules.mkdir(mode=0o755)
        empty.mkdir(mode=0o755)
        shutil.copy(RULES, rules / RULES.name)
        (rules / RULES.name).chmod(0o644)
        govkiosk_uid, visitor_uid = _free_uids(2)
        self.uids: Dict[str, int] = {"govkiosk": govkiosk_uid, "visitor": visitor_uid}
        passwd = directory / "passwd"
        kept = [
            line
            for line in Path("/etc/passwd").read_text().splitlines()
            if line.split(":", 1)[0] not in self.uids
        ]
        for name, uid in self.uids.items():
            kept.append(f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin")
        passwd.write_text("\n".join(kept) + "\n")
        passwd.chmod(0o644)
        script = directory / "mount-and-run.sh"
        script.write_text(MOUNT_AND_RUN)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.polkitd = Proc(
            ["unshare", "-m", "sh", str(script), str(rules), str(empty), str(passwd), str(POLKITD)],
            directory / "polkitd.log",
            env=env,
        )
        try:
            self.polkitd.wait_ready(
                lambda: "Acquired the name org.freedesktop.PolicyKit1" in self.polkitd.output(),
                10,
                "polkitd",
            )
        except BaseException:
            self.polkitd.stop()
            self.bus.stop()
            raise
        self.subjects: Dict[str, subprocess.Popen[bytes]] = {
            name: subprocess.Popen(["sleep", "600"], user=uid, group=uid, extra_groups=[])
            for name, uid in self.uids.items()
        }

    def check(self, user: str, action: str) -> subprocess.CompletedProcess[str]:
        """``pkcheck`` for a process of ``user``: exit 0 is authorised, anything else is not."""
        return subprocess.run(
            ["pkcheck", "--action-id", action, "--process", str(self.subjects[user].pid)],
            env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address),
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )

    def stop(self) -> None:
        for subject in self.subjects.values():
            subject.kill()
            subject.wait()
        self.polkitd.stop()
        self.bus.stop()


@pytest.fixture(scope="module")
def polkit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polkit]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    running = Polkit(tmp_path_factory.mktemp("polkit"))
    try:
        yield running
    finally:
        running.stop()


def test_the_rules_loaded(polkit: Polkit) -> None:
    assert "Finished loading, compiling and executing 1 rules" in polkit.polkitd.output()


@pytest.mark.parametrize("action", sorted(GRANTED))
def test_govkiosk_may_power_off_and_reboot(polkit: Polkit, action: str) -> None:
    result = polkit.check("govkiosk", action)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("action", sorted(GRANTED))
def test_another_user_needs_an_administrator(polkit: Polkit, action: str) -> None:
    result = polkit.check("visitor", action)
    assert result.returncode != 0
    assert "requires authentication" in result.stderr or "Not authorized" in result.stderr


@pytest.mark.parametrize("action", NOT_GRANTED)
def test_govkiosk_gets_nothing_else(polkit: Polkit, action: str) -> None:
    result = polkit.check("govkiosk", action)
    assert result.returncode != 0, f"{action} is granted to govkiosk"


def test_the_pkla_twin_grants_the_same_actions() -> None:
    assert _actions(RULES.read_text()) == GRANTED
    action_lines = [line for line in PKLA.read_text().splitlines() if line.startswith("Action=")]
    assert len(action_lines) == 1
    assert set(action_lines[0].split("=", 1)[1].split(";")) == GRANTED
    assert "Identity=unix-user:govkiosk" in PKLA.read_text().splitlines()


def test_the_daemon_asks_logind_only_for_power_off_and_reboot() -> None:
    called: Set[str] = set()
    for source in (REPO / "daemon/govkiosk").rglob("*.py"):
        called |= set(re.findall(r'MANAGER,\s*"(\w+)"', source.read_text(encoding="utf-8")))
    assert called == {"PowerOff", "Reboot"}
