"""The privileged installer (``govkiosk-update``, run as root by ``govkiosk-update.service``).

It trusts nothing the unprivileged daemon did: it copies the requested release out of the
daemon's spool into its own root-only directory (regular files only, at most the sizes
the manifest names), verifies the signature with the release keys of the configuration
files (which the daemon cannot change: ``config.set`` refuses ``[updates]``), the version
rules against the version the package manager says is installed, and every package's
size and SHA-256 — then keeps the installed package set for rollback, installs, restarts
govkioskd and waits for it to be healthy within ``health_timeout``; otherwise it installs
the previous set again (a downgrade) and restarts. Each phase goes to ``status.json``
(world-readable: versions and phases only), which the daemon reports to ops.

    <installer_dir>/sets/<version>/   release.json (absent when adopted) + packages
    <installer_dir>/current           the version whose set is installed
    <installer_dir>/status.json       the last update's phase
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Protocol, Sequence, Tuple

from . import phases
from .agent import REQUEST, STATUS
from .download import sha256_file
from .errors import InstallError, UpdateError
from .manifest import Release, applies, verify
from .phases import Phase, Progress
from .settings import UpdateSettings

_LOGGER = logging.getLogger(__name__)

PACKAGE = "govkiosk"
SETS = "sets"
CURRENT = "current"
ADOPTED = "ADOPTED"
COMMAND_TIMEOUT = 900.0
HEALTH_POLL = 1.0
SYSTEM_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}


def run(args: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(args), check=False, capture_output=True, text=True, timeout=timeout, env=SYSTEM_ENV
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise InstallError(f"{args[0]}: {err}") from err


# --- The package manager ----------------------------------------------------------------


def installed_version(kind: str) -> str:
    """The installed govkiosk's version, as the package manager knows it."""
    if kind == "deb":
        result = run(["dpkg-query", "-W", "-f=${Version}", PACKAGE])
    else:
        result = run(["rpm", "-q", "--qf", "%{VERSION}", PACKAGE])
    if result.returncode != 0 or not result.stdout.strip():
        raise InstallError(f"{PACKAGE} is not installed: {result.stderr.strip()[:200]}")
    return result.stdout.strip()


def package_fields(path: Path) -> Tuple[str, str]:
    """(name, version) of a package file."""
    if path.suffix == ".deb":
        result = run(["dpkg-deb", "-f", str(path), "Package", "Version"])
        fields = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
        return fields.get("Package", ""), fields.get("Version", "")
    result = run(["rpm", "-qp", "--qf", "%{NAME} %{VERSION}", str(path)])
    name, _, version = result.stdout.partition(" ")
    return name, version


#: Never ask about a configuration file the integrator changed (dpkg would wait for an
#: answer nobody gives): keep theirs, take the package's where they changed nothing.
DPKG_CONFFILES = ("--force-confdef", "--force-confold")


def repair_packages(files: Sequence[Path]) -> str:
    """Mend what an interrupted package manager left half done, with ``files`` (the set
    that was being installed) at hand; empty when it succeeded, else why not.

    dpkg cut short while configuring leaves the package half-configured, which
    ``dpkg --configure -a`` finishes; cut short while unpacking, it is marked "reinstall
    required", which only installing a package file mends (``dpkg -i``). apt refuses to
    work until either is done. An rpm transaction needs nothing.
    """
    if not files or files[0].suffix != ".deb":
        return ""
    if run(["dpkg", "--configure", "-a"]).returncode == 0:
        return ""
    result = run(["dpkg", "-i", *DPKG_CONFFILES, *[str(f) for f in files]])
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip())[-200:]
        return f"dpkg could not repair the installation ({result.returncode}): {tail}"
    return ""


def install_packages(files: Sequence[Path]) -> None:
    """Install a package set, downgrades allowed (a rollback is one)."""
    if files[0].suffix == ".deb":
        args = [
            "apt-get", "install", "-y", "-q", "--allow-downgrades", "--no-install-recommends",
            "-o", "DPkg::Lock::Timeout=300",
            *[arg for option in DPKG_CONFFILES for arg in ("-o", f"Dpkg::Options::={option}")],
            *[str(f) for f in files],
        ]  # fmt: skip
    elif shutil.which("dnf"):
        args = ["dnf", "install", "-y", *[str(f) for f in files]]
    else:
        args = ["rpm", "-U", "--oldpackage", "--replacepkgs", *[str(f) for f in files]]
    result = run(args)
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip())[-300:]
        raise InstallError(f"{args[0]} failed ({result.returncode}): {tail}")


# --- Starting, stopping and checking the daemon -----------------------------------------


class ServiceManager(Protocol):
    def restart(self) -> None: ...

    def healthy(self, version: str, timeout: float) -> str:
        """Empty when the daemon runs ``version``, healthy, within ``timeout`` s; else why not."""


def daemon_answers(ctl: str, bus: str, version: str) -> str:
    """The daemon's own health on its bus: it answers, runs ``version``, no service failed."""
    try:
        result = run([ctl, "--bus", bus, "--json", "status"], timeout=30)
    except InstallError as err:  # it did not answer within 30 s: not healthy yet
        return str(err)
    if result.returncode != 0:
        return f"the daemon does not answer on its bus: {result.stderr.strip()[-200:]}"
    try:
        document = json.loads(result.stdout)
        running = str(document["kiosk"]["version"])
        failed = [s["name"] for s in document["services"] if s["state"] == "failed"]
    except (ValueError, KeyError, TypeError):
        return "the daemon's status cannot be read"
    if running != version:
        return f"the daemon runs {running}, not {version}"
    if failed:
        return f"service(s) failed: {', '.join(sorted(failed))}"
    return ""


@dataclass
class Systemd:
    """The kiosk's systemd: restart the unit, ``is-active`` (Type=notify: after READY=1),
    then the daemon's own status on the system bus."""

    unit: str = "govkioskd.service"
    ctl: str = "/usr/bin/govkioskctl"
    bus: str = "system"

    def restart(self) -> None:
        result = run(["systemctl", "restart", "--no-block", self.unit])
        if result.returncode != 0:
            raise InstallError(f"systemctl restart {self.unit}: {result.stderr.strip()[-200:]}")

    def healthy(self, version: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        why = "not active"
        while time.monotonic() < deadline:
            state = run(["systemctl", "is-active", self.unit], timeout=30).stdout.strip()
            if state == "active":
                why = daemon_answers(self.ctl, self.bus, version)
                if not why:
                    return ""
            else:
                why = f"{self.unit} is {state or 'unknown'}"
            time.sleep(HEALTH_POLL)
        return why


@dataclass
class Process:
    """Where no systemd runs (containers, CI): the daemon as a child process started from
    ``command``, its pid in ``pidfile``, READY=1 read from a notification socket of our own."""

    command: Sequence[str]
    pidfile: Path
    ctl: str
    bus: str
    notify_dir: Path
    _socket: Optional[socket.socket] = None

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        if self._socket is not None:
            self._socket.close()
        path = self.notify_dir / "notify"
        path.unlink(missing_ok=True)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        os.chmod(path, 0o666)
        env = {**SYSTEM_ENV, "NOTIFY_SOCKET": str(path)}
        try:
            # The daemon's log (no personal data: its logging withholds any) beside the status.
            with (self.notify_dir / "daemon.log").open("ab") as log:
                child = subprocess.Popen(
                    list(self.command),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
        except OSError as err:
            raise InstallError(f"cannot start the daemon: {err}") from err
        self.pidfile.write_text(f"{child.pid}\n")

    def healthy(self, version: str, timeout: float) -> str:
        assert self._socket is not None
        deadline = time.monotonic() + timeout
        pid = self._pid()
        ready = False
        while time.monotonic() < deadline:
            if pid is None or not _alive(pid):
                return "the daemon exited"
            if not ready:
                self._socket.settimeout(HEALTH_POLL)
                try:
                    ready = b"READY=1" in self._socket.recv(4096).split(b"\n")
                except socket.timeout:
                    continue
                if not ready:
                    continue
            why = daemon_answers(self.ctl, self.bus, version)
            if not why:
                return ""
            time.sleep(HEALTH_POLL)
        return "not ready in time" if not ready else "not healthy in time"

    def _pid(self) -> Optional[int]:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None


def _alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped yet."""
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


# --- The installer ----------------------------------------------------------------------


class Installer:
    def __init__(
        self,
        settings: UpdateSettings,
        spool: Path,
        manager: ServiceManager,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.spool = spool
        self.root = Path(settings.installer_dir)
        self.manager = manager
        self.clock = clock

    @property
    def status_path(self) -> Path:
        return self.root / STATUS

    def _status(self, progress: Progress, phase: Phase, detail: str = "") -> None:
        progress.phase = phase
        progress.detail = detail
        progress.at = self.clock()
        progress.reported.append(phase.value)
        log = _LOGGER.warning if phase in (Phase.FAILED, Phase.ROLLED_BACK) else _LOGGER.info
        log(
            "govkiosk-update: %s: %s%s",
            progress.version,
            phase.value,
            f": {detail}" if detail else "",
        )
        phases.write(self.status_path, progress.as_dict(), 0o644)

    def take_request(self) -> Optional[Progress]:
        """The daemon's request, consumed (the path unit must not start us again for it)."""
        path = self.spool / REQUEST
        request = _read_small(path, 4096)
        if request is None:
            return None
        path.unlink(missing_ok=True)
        try:
            raw = json.loads(request.decode("utf-8"))
            version, offer_id, force = str(raw["version"]), str(raw["offer_id"]), bool(raw["force"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise InstallError("the request is not readable") from None
        return Progress(version, Phase.INSTALLING, offer_id, force=force)

    def recover(self) -> Optional[Progress]:
        """An installation that never reached its end (power lost, the installer killed):
        repair the package manager's state, install the verified new set again if it was
        cut short before it was in, then keep the new version if it is healthy, or roll
        back to the kept previous set. ``None`` when none was interrupted. Run at every
        boot (``govkiosk-update-recover.service``) and before each requested install."""
        progress = phases.read(self.status_path)
        if progress is None or progress.phase not in (Phase.INSTALLING, Phase.RESTARTED):
            return None
        interrupted = f"interrupted while {progress.phase.value}"
        try:
            previous = self._kept(progress.previous)
        except UpdateError as err:
            self._status(progress, Phase.FAILED, f"{interrupted}; no rollback: {err}")
            return progress
        kind = "deb" if previous[0].suffix == ".deb" else "rpm"
        staged = self._staging(progress.version)
        new = _packages(staged) or _packages(self._sets() / progress.version)
        why = repair_packages(new or previous)
        try:
            now = installed_version(kind)
        except InstallError as err:
            now, why = "", why or str(err)
        if why or not new:
            shutil.rmtree(staged, ignore_errors=True)
            self._roll_back(progress, previous, f"{interrupted}{': ' + why if why else ''}")
            return progress
        done = f"{interrupted}; completed"
        if now != progress.version:  # cut short before dpkg unpacked it: the verified set again
            try:
                install_packages(new)
            except InstallError as err:
                shutil.rmtree(staged, ignore_errors=True)
                self._roll_back(progress, previous, f"{interrupted}; install failed: {err}")
                return progress
            done = f"{interrupted}; installed again"
        if staged.is_dir():
            self._commit(progress.version)
        self._check(progress, previous, done)
        return progress

    def install_requested(self) -> Optional[Progress]:
        self.recover()
        progress = self.take_request()
        if progress is None:
            return None
        self.install(progress)
        return progress

    def install(self, progress: Progress) -> None:
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        try:
            release, files = self._take(progress.version)
            kind = release.packages[0].format
            progress.previous = installed_version(kind)
            applies(release, progress.previous, self.clock(), max_bytes=self.settings.max_mb << 20)
            previous = self._kept(progress.previous)
        except UpdateError as err:
            shutil.rmtree(self._staging(progress.version), ignore_errors=True)
            self._status(progress, Phase.FAILED, f"refused before install: {err}")
            return
        self._status(progress, Phase.INSTALLING)
        try:
            install_packages(files)
        except InstallError as err:
            self._roll_back(progress, previous, f"install failed: {err}")
            return
        self._commit(progress.version)
        self._check(progress, previous)

    def _check(self, progress: Progress, previous: List[Path], done: str = "") -> None:
        """Restart the daemon on the installed new version; keep it if healthy in time."""
        limit = self.settings.health_timeout
        try:
            self.manager.restart()
            self._status(progress, Phase.RESTARTED, done)
            why = self.manager.healthy(progress.version, limit)
        except InstallError as err:
            why = str(err)
        if why:
            prefix = f"{done}; " if done else ""
            self._roll_back(progress, previous, f"{prefix}not healthy within {limit:g} s: {why}")
            return
        self._prune()
        self._status(progress, Phase.HEALTHY, done)

    def _roll_back(self, progress: Progress, previous: List[Path], why: str) -> None:
        try:
            install_packages(previous)
            self._set_current(progress.previous)
            self.manager.restart()
        except InstallError as err:
            self._status(progress, Phase.FAILED, f"{why}; rollback failed: {err}")
            return
        try:
            again = self.manager.healthy(progress.previous, self.settings.health_timeout)
        except InstallError as err:
            again = str(err)
        detail = f"{why}; {progress.previous} reinstalled"
        if again:
            detail += f" but not healthy: {again}"
        self._status(progress, Phase.ROLLED_BACK, detail)

    # The sets kept for rollback.

    def _sets(self) -> Path:
        return self.root / SETS

    def _staging(self, version: str) -> Path:
        return self._sets() / f".{version}.new"

    def _take(self, version: str) -> Tuple[Release, List[Path]]:
        """Copy the release out of the spool (regular files, bounded), then verify the copy."""
        source = self.spool / "releases" / version
        staging = self._staging(version)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700, parents=True)
        document = _read_small(source / "release.json", 64 * 1024)
        if document is None:
            raise InstallError(f"release {version}: no release.json in the spool")
        release = verify(document, self.settings.pins())
        if release.version != version:
            raise InstallError(f"the spool's release is {release.version}, not {version}")
        (staging / "release.json").write_bytes(document)
        files = []
        for package in release.packages:
            target = staging / package.file
            _copy_bounded(source / package.file, target, package.size)
            if target.stat().st_size != package.size or sha256_file(target) != package.sha256:
                raise InstallError(f"{package.file}: its size or SHA-256 is not the manifest's")
            name, got = package_fields(target)
            if not name.startswith(PACKAGE) or got != release.version:
                raise InstallError(
                    f"{package.file}: package {name} {got}, not {PACKAGE} {release.version}"
                )
            files.append(target)
        return release, files

    def _kept(self, version: str) -> List[Path]:
        files = _packages(self._sets() / version)
        if not files:
            raise InstallError(
                f"no packages of the installed {version} kept for a rollback:"
                " run govkiosk-update adopt with them first"
            )
        return files

    def _commit(self, version: str) -> None:
        final = self._sets() / version
        shutil.rmtree(final, ignore_errors=True)
        self._staging(version).rename(final)
        self._set_current(version)

    def _set_current(self, version: str) -> None:
        phases_tmp = self.root / f".{CURRENT}.tmp"
        phases_tmp.write_text(version + "\n")
        os.replace(phases_tmp, self.root / CURRENT)

    def current(self) -> str:
        try:
            return (self.root / CURRENT).read_text().strip()
        except OSError:
            return ""

    def _prune(self) -> None:
        current = self.current()
        kept = sorted(
            (p for p in self._sets().iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        others = [p for p in kept if p.name != current]
        for old in others[: max(0, len(others) - self.settings.keep)]:
            shutil.rmtree(old, ignore_errors=True)

    def adopt(self, files: Sequence[Path]) -> str:
        """Keep the packages of the installed version (installed by hand) for rollback."""
        kind = "deb" if files[0].suffix == ".deb" else "rpm"
        version = installed_version(kind)
        target = self._sets() / version
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in files:
            name, got = package_fields(path)
            if got != version or not name.startswith(PACKAGE):
                raise InstallError(
                    f"{path.name}: {name} {got}, not the installed {PACKAGE} {version}"
                )
            shutil.copyfile(path, target / path.name)
        (target / ADOPTED).write_text("kept by govkiosk-update adopt\n")
        self._set_current(version)
        return version


def _packages(directory: Path) -> List[Path]:
    """The package files of a kept or staged set (none when there is no such set)."""
    return sorted(p for p in directory.glob("*") if p.suffix in (".deb", ".rpm"))


def _read_small(path: Path, limit: int) -> Optional[bytes]:
    """A regular file's bytes (never through a symlink), at most ``limit``."""
    try:
        fd = os.open(str(path), os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise InstallError(f"{path.name}: cannot be read: {err.strerror}") from err
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InstallError(f"{path.name}: not a regular file")
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InstallError(f"{path.name}: larger than {limit} bytes")
    return data


def _copy_bounded(source: Path, target: Path, size: int) -> None:
    try:
        fd = os.open(str(source), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        raise InstallError(f"{source.name}: cannot be read: {err.strerror}") from err
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InstallError(f"{source.name}: not a regular file")
        copied = 0
        with open(target, "wb") as out:
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                copied += len(chunk)
                if copied > size:
                    raise InstallError(f"{source.name}: larger than the manifest's {size} bytes")
                out.write(chunk)
    finally:
        os.close(fd)
