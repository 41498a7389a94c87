"""The privileged installer's decisions, without installing anything on this machine (the
packaging tests install with apt): small real .deb files built with dpkg-deb, the package
manager's install and version query replaced, a stand-in daemon manager whose health the
test sets. What it refuses, what it keeps, when it rolls back."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest

from govkiosk.fleet.release import release_body
from govkiosk.ops.signing import OperatorSigner
from govkiosk.updates import installer as installer_module
from govkiosk.updates import manifest, phases
from govkiosk.updates.errors import InstallError
from govkiosk.updates.installer import Installer
from govkiosk.updates.settings import ReleaseKey, UpdateSettings

KEY = OperatorSigner.generate("release-unit")


def tiny_deb(directory: Path, version: str, name: str = "govkiosk") -> Path:
    tree = directory / f"tree-{name}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: t <t@example.invalid>\nDescription: test\n"
    )
    (tree / "usr/share/doc").mkdir(parents=True)
    (tree / "usr/share/doc/version").write_text(version + "\n" + "x" * 1000)
    target = directory / f"{name}_{version}_all.deb"
    built = subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-b", str(tree), str(target)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    return target


class Manager:
    """Stands in for systemd: records restarts; healthy when the version is in ``good``."""

    def __init__(self) -> None:
        self.restarts = 0
        self.good = {"0.1.0", "0.2.0"}
        self.fail_restart = False
        #: What happens while the health is checked (the machine may lose power).
        self.during_check: Callable[[], None] = lambda: None

    def restart(self) -> None:
        self.restarts += 1
        if self.fail_restart:
            raise InstallError("systemctl restart govkioskd.service: failed")

    def healthy(self, version: str, timeout: float) -> str:
        self.during_check()
        return "" if version in self.good else "the daemon exited"


class PowerCut(BaseException):
    """The machine lost power: nothing after this line of the installer runs."""


class Machine:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.version = "0.1.0"
        self.installed: List[List[str]] = []
        #: Where the power goes: "unpacked" (dpkg had unpacked, not configured, the new
        #: version), "restarted" (during the health check), "" (never).
        self.cut = ""
        self.repairs = 0
        self.repair_fails = False
        self.pool = tmp_path / "pool"
        self.pool.mkdir()
        self.spool = tmp_path / "spool"
        self.settings = UpdateSettings(
            release_keys=(ReleaseKey(KEY.key_id, KEY.public_b64()),),
            installer_dir=str(tmp_path / "installer"),
            keep=1,
        )
        self.manager = Manager()
        self.installer = Installer(self.settings, self.spool, self.manager)
        monkeypatch.setattr(installer_module, "installed_version", lambda _kind: self.version)
        monkeypatch.setattr(installer_module, "install_packages", self._install)
        monkeypatch.setattr(installer_module, "repair_packages", self._repair)
        self.manager.during_check = self._cut

    def _install(self, files: Sequence[Path]) -> None:
        self.installed.append([f.name for f in files])
        # dpkg would read the version from the package: so does the stand-in.
        self.version = installer_module.package_fields(files[0])[1]
        if self.cut == "before":  # dpkg had not begun: the old version is still in
            self.version = "0.1.0"
            self.cut = ""
            raise PowerCut
        if self.cut == "unpacked":
            self.version = "half"  # dpkg-query shows no usable version until repaired
            self.cut = ""
            raise PowerCut

    def _cut(self) -> None:
        if self.cut == "restarted":
            self.cut = ""
            raise PowerCut

    def _repair(self, _files: Sequence[Path]) -> str:
        self.repairs += 1
        if self.repair_fails:
            return "dpkg could not repair the installation (1): dpkg: error processing package"
        if self.version == "half":
            self.version = "0.2.0"  # dpkg --configure -a finishes the unpacked package
        return ""

    def update_cut_short(self, where: str) -> None:
        """0.1.0 kept and installed; the update to 0.2.0 loses its power at ``where``."""
        self.installer.adopt([tiny_deb(self.pool, "0.1.0")])
        self.request("0.2.0")
        self.cut = where
        with pytest.raises(PowerCut):
            self.installer.install_requested()

    def reboot(self) -> Installer:
        """A new installer process after the power came back (the boot unit's)."""
        self.installer = Installer(self.settings, self.spool, self.manager)
        return self.installer

    def request(self, version: str, document: Optional[Dict[str, Any]] = None) -> None:
        package = self.pool / f"govkiosk_{version}_all.deb"
        if not package.exists():
            tiny_deb(self.pool, version)
        if document is None:
            body = release_body(version, [package], min_version="0.1.0")
            document = manifest.sign(body, KEY)
        ready = self.spool / "releases" / version
        ready.mkdir(parents=True, exist_ok=True)
        (ready / "release.json").write_text(json.dumps(document))
        (ready / package.name).unlink(missing_ok=True)  # a symlink left by a test
        (ready / package.name).write_bytes(package.read_bytes())
        request = {
            "version": version,
            "offer_id": f"o-{version}",
            "force": False,
            "at": time.time(),
        }
        phases.write(self.spool / "request.json", request)

    def status(self) -> Dict[str, Any]:
        return dict(json.loads((Path(self.settings.installer_dir) / "status.json").read_text()))


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    return Machine(tmp_path, monkeypatch)


def test_without_kept_packages_nothing_is_installed(machine: Machine) -> None:
    machine.request("0.2.0")
    machine.installer.install_requested()
    assert machine.status()["phase"] == "failed"
    assert "run govkiosk-update adopt" in machine.status()["detail"]
    assert machine.installed == []
    assert not (machine.spool / "request.json").exists()


def test_a_healthy_update_is_kept_and_older_sets_pruned(machine: Machine) -> None:
    machine.installer.adopt([tiny_deb(machine.pool, "0.1.0")])
    machine.request("0.2.0")
    progress = machine.installer.install_requested()
    assert progress is not None
    assert machine.status()["phase"] == "healthy"
    assert machine.status()["reported"] == ["installing", "restarted", "healthy"]
    assert machine.installed == [["govkiosk_0.2.0_all.deb"]]
    assert machine.installer.current() == "0.2.0"
    sets = Path(machine.settings.installer_dir) / "sets"
    assert sorted(p.name for p in sets.iterdir()) == ["0.1.0", "0.2.0"]  # keep = 1 besides
    machine.manager.good.add("0.3.0")
    machine.request("0.3.0")
    machine.installer.install_requested()
    assert sorted(p.name for p in sets.iterdir()) == ["0.2.0", "0.3.0"]


@pytest.mark.parametrize("how", ["unhealthy", "restart fails"])
def test_an_unhealthy_update_is_rolled_back(machine: Machine, how: str) -> None:
    machine.installer.adopt([tiny_deb(machine.pool, "0.1.0")])
    machine.request("0.2.1")  # not in the manager's good versions
    if how == "restart fails":
        machine.manager.good.add("0.2.1")
        machine.manager.fail_restart = True
    machine.installer.install_requested()
    status = machine.status()
    if how == "restart fails":
        # The rollback's restart fails too: reported as a failed rollback.
        assert status["phase"] == "failed"
        assert "rollback failed" in status["detail"]
        return
    assert status["phase"] == "rolled_back"
    assert status["detail"] == "not healthy within 120 s: the daemon exited; 0.1.0 reinstalled"
    assert machine.installed == [["govkiosk_0.2.1_all.deb"], ["govkiosk_0.1.0_all.deb"]]
    assert machine.version == "0.1.0"
    assert machine.installer.current() == "0.1.0"
    assert machine.manager.restarts == 2


def test_the_spool_is_not_trusted(machine: Machine, tmp_path: Path) -> None:
    machine.installer.adopt([tiny_deb(machine.pool, "0.1.0")])
    # A symlink where a package should be (to a file only root may read).
    machine.request("0.2.0")
    spooled = machine.spool / "releases" / "0.2.0" / "govkiosk_0.2.0_all.deb"
    secret = tmp_path / "secret"
    secret.write_bytes(b"root only")
    spooled.unlink()
    os.symlink(secret, spooled)
    machine.installer.install_requested()
    assert "cannot be read" in machine.status()["detail"]
    # A package of another name signed into a release (not a govkiosk package).
    other = tiny_deb(machine.pool, "0.2.0", name="evil")
    body = release_body("0.2.0", [other], min_version="0.1.0")
    body["packages"][0]["file"] = "govkiosk_0.2.0_all.deb"
    machine.pool.joinpath("govkiosk_0.2.0_all.deb").write_bytes(other.read_bytes())
    machine.request("0.2.0", manifest.sign(body, KEY))
    machine.installer.install_requested()
    assert "package evil 0.2.0, not govkiosk 0.2.0" in machine.status()["detail"]
    # A request for a version whose spooled manifest is another.
    machine.request("0.2.0")
    (machine.spool / "request.json").write_text(
        json.dumps({"version": "0.2.0", "offer_id": "x", "force": False})
    )
    (machine.spool / "releases" / "0.2.0" / "release.json").write_text(
        json.dumps(manifest.sign(release_body("0.2.5", [other], min_version="0"), KEY))
    )
    machine.installer.install_requested()
    assert "not 0.2.0" in machine.status()["detail"]
    assert machine.installed == []
    assert machine.status()["phase"] == "failed"


def test_adopt_refuses_packages_of_another_version(machine: Machine) -> None:
    with pytest.raises(InstallError, match=r"not the installed govkiosk 0\.1\.0"):
        machine.installer.adopt([tiny_deb(machine.pool, "0.0.9")])


def test_nothing_interrupted_nothing_recovered(machine: Machine) -> None:
    assert machine.reboot().recover() is None
    machine.installer.adopt([tiny_deb(machine.pool, "0.1.0")])
    machine.request("0.2.0")
    machine.installer.install_requested()
    assert machine.reboot().recover() is None  # a finished update stays finished
    assert machine.status()["phase"] == "healthy"
    assert machine.repairs == 0


def test_power_lost_mid_install_is_repaired_and_completed_at_boot(machine: Machine) -> None:
    machine.update_cut_short("unpacked")
    assert machine.status()["phase"] == "installing"
    progress = machine.reboot().recover()
    assert progress is not None
    status = machine.status()
    assert machine.repairs == 1
    assert status["phase"] == "healthy"
    assert status["detail"] == "interrupted while installing; completed"
    assert status["reported"] == ["installing", "restarted", "healthy"]
    assert machine.installer.current() == "0.2.0"
    assert not list((Path(machine.settings.installer_dir) / "sets").glob(".*"))  # no staging


def test_power_lost_mid_install_of_a_bad_version_rolls_back_at_boot(machine: Machine) -> None:
    machine.manager.good.discard("0.2.0")
    machine.update_cut_short("unpacked")
    machine.reboot().recover()
    status = machine.status()
    assert status["phase"] == "rolled_back"
    assert status["detail"].startswith("interrupted while installing; completed; not healthy")
    assert machine.version == "0.1.0"
    assert machine.installer.current() == "0.1.0"


def test_power_lost_during_the_health_check_checks_again_at_boot(machine: Machine) -> None:
    machine.update_cut_short("restarted")
    assert machine.status()["phase"] == "restarted"
    machine.reboot().recover()
    assert machine.status()["phase"] == "healthy"
    assert machine.status()["detail"] == "interrupted while restarted; completed"
    assert machine.installed == [["govkiosk_0.2.0_all.deb"]]  # not installed twice


def test_an_unrepairable_package_manager_rolls_back_or_says_why(machine: Machine) -> None:
    machine.update_cut_short("unpacked")
    machine.repair_fails = True
    machine.reboot().recover()
    status = machine.status()
    # The stand-in apt installs the kept set anyway; the detail keeps dpkg's reason.
    assert status["phase"] == "rolled_back"
    assert "interrupted while installing: dpkg could not repair" in status["detail"]
    assert machine.installed[-1] == ["govkiosk_0.1.0_all.deb"]
    assert machine.installer.current() == "0.1.0"


def test_a_request_waiting_after_an_interruption_comes_after_the_recovery(
    machine: Machine,
) -> None:
    machine.update_cut_short("unpacked")
    machine.manager.good.add("0.3.0")
    machine.request("0.3.0")
    machine.reboot().install_requested()
    assert machine.status()["version"] == "0.3.0"
    assert machine.status()["phase"] == "healthy"
    assert machine.status()["previous"] == "0.2.0"  # recovered first, then updated


def test_power_lost_before_dpkg_began_installs_the_kept_set_again(machine: Machine) -> None:
    machine.update_cut_short("before")
    machine.reboot().recover()
    status = machine.status()
    assert status["phase"] == "healthy"
    assert status["detail"] == "interrupted while installing; installed again"
    assert machine.installed == [["govkiosk_0.2.0_all.deb"]] * 2
    assert machine.installer.current() == "0.2.0"
