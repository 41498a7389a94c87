"""One encrypted backup — database, configuration, packages, version — then rotation;
and its restore onto a fresh install."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .. import __version__
from ..errors import GovkioskError
from ..store import DB_NAME
from . import ciphers
from .settings import BackupSettings

PREFIX = "govkiosk-"
SUFFIX = ".gkbak"
PARTIAL = ".partial"
KEY_BYTES = 32
MANIFEST = "MANIFEST.json"


class BackupError(GovkioskError):
    """A backup could not be written; the previous ones are untouched."""


class RestoreError(GovkioskError):
    """A backup could not be restored; nothing was written to the target."""


@dataclass(frozen=True)
class Restored:
    """What a restore wrote: the backup's manifest and where the packages went."""

    manifest: Dict[str, Any]
    packages: List[Path]


def new_key() -> str:
    """A fresh backup key, as the key file holds it (64 hex digits and a newline)."""
    return os.urandom(KEY_BYTES).hex() + "\n"


def read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise GovkioskError(f"backup key {path}: cannot be read: {err}") from err
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise GovkioskError(f"backup key {path}: expected {KEY_BYTES * 2} hex digits")
    return key


def make_backup(state_dir: Path, config_dir: Path, settings: BackupSettings, now: datetime) -> Path:
    """Write one encrypted backup for the UTC time ``now``, then drop the oldest beyond
    ``keep``."""
    root = Path(settings.dir)
    key_file = Path(settings.key_file)
    if _inside(key_file, root):
        raise BackupError(
            f"backup key {key_file} is inside the backup directory {root}: keep it off the"
            " backup medium"
        )
    try:
        key = read_key(key_file)
    except GovkioskError as err:
        raise BackupError(str(err)) from err
    target = root / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}{SUFFIX}"
    partial = target.with_name(target.name + PARTIAL)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for leftover in root.glob(PREFIX + "*" + PARTIAL):
            leftover.unlink()
        plain = _archive(state_dir, config_dir, settings, now)
        with open(partial, "wb") as out:
            out.write(ciphers.seal(settings.cipher, key, plain))
            out.flush()
            os.fsync(out.fileno())
        partial.rename(target)
    except (OSError, sqlite3.Error, subprocess.SubprocessError) as err:
        raise BackupError(f"backup into {root} failed: {err}") from err
    for old in backups(root)[: -settings.keep]:
        old.unlink()
    return target


def backups(root: Path) -> List[Path]:
    """Complete backups in ``root``, oldest first (their names sort by time)."""
    return sorted(p for p in root.glob(PREFIX + "*" + SUFFIX) if p.is_file())


def _inside(path: Path, directory: Path) -> bool:
    resolved, parent = path.resolve(), directory.resolve()
    return resolved == parent or parent in resolved.parents


def _archive(state_dir: Path, config_dir: Path, settings: BackupSettings, now: datetime) -> bytes:
    buffer = io.BytesIO()
    packages = installed_packages(settings)
    manifest: Dict[str, Any] = {
        "version": __version__,
        "made": now.isoformat(),
        "database": False,
        "packages": [
            {"name": name, "version": version, "files": [f.name for f in files]}
            for name, version, files in packages
        ],
    }
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        database = state_dir / DB_NAME
        if database.exists():
            # A snapshot beside the database (same disk, same owner), gone right after.
            with tempfile.TemporaryDirectory(dir=state_dir, prefix=".backup-") as scratch:
                copy = Path(scratch) / DB_NAME
                _copy_database(database, copy)
                tar.add(str(copy), arcname=f"state/{DB_NAME}")
            manifest["database"] = True
        key_file = Path(settings.key_file).resolve()
        for path in sorted(config_dir.rglob("*")):
            if path.resolve() == key_file or not (path.is_file() or path.is_dir()):
                continue
            arcname = "etc/" + path.relative_to(config_dir).as_posix()
            tar.add(str(path), arcname=arcname, recursive=False)
        for _name, _version, files in packages:
            for file in files:
                tar.add(str(file), arcname=f"packages/{file.name}")
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(now.timestamp())
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def installed_packages(settings: BackupSettings) -> List[Tuple[str, str, List[Path]]]:
    """``(name, installed version or "", package files found)`` for each configured package."""
    found = []
    directory = Path(settings.package_dir)
    for name in settings.packages:
        version = _installed_version(name)
        files: List[Path] = []
        if version and directory.is_dir():
            # Debian names epochs "1:2.0" as "1%3a2.0" in file names.
            stem = version.replace(":", "%3a")
            files = sorted(
                p
                for p in directory.iterdir()
                if p.is_file()
                and (
                    (p.name.startswith(f"{name}_{stem}_") and p.name.endswith(".deb"))
                    or (p.name.startswith(f"{name}-{version}") and p.name.endswith(".rpm"))
                )
            )
        found.append((name, version, files))
    return found


def _installed_version(name: str) -> str:
    queries = (
        ["dpkg-query", "-W", "-f", "${Version}", name],
        ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name],
    )
    for argv in queries:
        if shutil.which(argv[0]) is None:
            continue
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return ""


def _copy_database(source: Path, destination: Path) -> None:
    # Read-only URI: a backup never creates or changes the daemon's database.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(str(destination))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def open_backup(archive: Path, key: bytes) -> bytes:
    """The tar inside ``archive``; :class:`RestoreError` for a wrong key or damage."""
    try:
        blob = archive.read_bytes()
    except OSError as err:
        raise RestoreError(f"{archive}: cannot be read: {err.strerror}") from err
    if not ciphers.is_sealed(blob):
        raise RestoreError(f"{archive}: not a govkiosk backup")
    try:
        return ciphers.open_sealed(key, blob)
    except ciphers.DamagedError as err:
        raise RestoreError(f"{archive}: {err}") from err


def restore(
    archive: Path,
    key: bytes,
    state_dir: Path,
    config_dir: Path,
    *,
    packages_dir: Optional[Path] = None,
    force: bool = False,
) -> Restored:
    """Put a backup's database and configuration in place (and its packages in
    ``packages_dir``). Refuses a state database that is already there unless ``force``;
    checks everything before writing anything."""
    plain = open_backup(archive, key)
    members = _members(archive, plain)
    try:
        manifest = json.loads(members.pop(MANIFEST, (b"{}", 0))[0].decode("utf-8"))
    except ValueError as err:  # UnicodeDecodeError too
        raise RestoreError(f"{archive}: damaged {MANIFEST}: {err}") from err
    if not isinstance(manifest, dict):
        raise RestoreError(f"{archive}: damaged {MANIFEST}: not a table")
    # The packaged configuration of a fresh install is replaced; a database in use is not.
    if not force and (state_dir / DB_NAME).exists():
        raise RestoreError(
            f"{state_dir / DB_NAME} exists: restore onto a fresh install, or --force"
        )
    written: List[Path] = []
    try:
        for name, (data, mode) in sorted(members.items()):
            top, _, rest = name.partition("/")
            places = {"state": state_dir, "etc": config_dir, "packages": packages_dir}
            place = places.get(top)
            if place is None:
                continue
            target = place / rest
            target.parent.mkdir(parents=True, exist_ok=True)
            if top == "state":
                for stale in (f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
                    _unlink(state_dir / stale)
            owner = _owner(target, state_dir if top == "state" else config_dir)
            target.write_bytes(data)
            target.chmod(mode & 0o777)
            if owner is not None and os.geteuid() == 0:
                # Run as root: the files belong to whoever owned them (or their directory)
                # on the fresh install, so govkioskd (user govkiosk) can use them.
                os.chown(target, *owner)
            if top == "packages":
                written.append(target)
    except OSError as err:
        raise RestoreError(f"restore failed writing {err.filename}: {err.strerror}") from err
    return Restored(manifest, written)


def _owner(target: Path, top: Path) -> Optional[Tuple[int, int]]:
    for source in (target, top):
        with contextlib.suppress(OSError):
            info = source.stat()
            return info.st_uid, info.st_gid
    return None


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _members(archive: Path, plain: bytes) -> Dict[str, Tuple[bytes, int]]:
    """Regular files by name; a member outside ``state/``, ``etc/``, ``packages/`` or with
    ``..``, an absolute name or a link refuses the whole backup."""
    files: Dict[str, Tuple[bytes, int]] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r") as tar:
            for member in tar.getmembers():
                name = member.name
                parts = name.split("/")
                if name.startswith("/") or ".." in parts or "" in parts:
                    raise RestoreError(f"{archive}: unsafe member name {name!r}")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise RestoreError(f"{archive}: {name!r} is not a regular file")
                if name != MANIFEST and parts[0] not in ("state", "etc", "packages"):
                    raise RestoreError(f"{archive}: unexpected member {name!r}")
                extracted = tar.extractfile(member)
                assert extracted is not None
                files[name] = (extracted.read(), member.mode)
    except tarfile.TarError as err:
        raise RestoreError(f"{archive}: damaged archive: {err}") from err
    return files


def restore_database(settings: BackupSettings, target: Path) -> str:
    """Write the database of the newest backup that opens with the key to ``target`` (the
    daemon's answer to a damaged database); that backup's name, or ``""`` when there is
    no key or no usable backup. Nothing but the database is touched."""
    try:
        key = read_key(Path(settings.key_file))
    except GovkioskError:
        return ""
    for archive in reversed(backups(Path(settings.dir))):
        try:
            members = _members(archive, open_backup(archive, key))
        except RestoreError:
            continue
        database = members.get(f"state/{DB_NAME}")
        if database is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + PARTIAL)
        partial.write_bytes(database[0])
        os.replace(partial, target)
        return archive.name
    return ""
