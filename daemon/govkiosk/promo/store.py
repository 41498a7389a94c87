"""The promotion content on disk: complete versions, switched atomically.

Layout under the promo directory::

    versions/000007-2026-w49/   playlist.json + media files, written whole before use
    current  -> versions/000007-2026-w49   (a relative symlink)
    previous -> versions/000006-2026-w48   (kept for promo.rollback)
    staging/                    versions being built (removed at start)

A new version is written and fsynced in ``staging/``, renamed into ``versions/``, then
``previous`` and ``current`` are replaced by renaming new symlinks over them, and the
directory is fsynced: a reader that resolves ``current`` finds a complete version, the old
or the new, never a mixture. Versions other than these two are removed. Blocking: run it
in an executor.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from ..contract.promo import PLAYLIST_FILE, Playlist, PlaylistError, parse_playlist
from .errors import NoPreviousError, StoreError

CURRENT = "current"
PREVIOUS = "previous"
VERSIONS = "versions"
STAGING = "staging"
#: The promotion program (another user, group govkiosk-ui) reads the versions; the daemon's
#: umask (0077) would hide them. With a setgid directory owned by that group (the packaged
#: /var/lib/govkiosk-promo), they are the group's to read and no one else's.
DIR_MODE = 0o2750
FILE_MODE = 0o640


@dataclass(frozen=True)
class Installed:
    playlist: Playlist
    #: The version directory (resolved): what the promotion program plays.
    directory: Path


class PromoStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        """Create the layout and drop what an interrupted update left."""
        try:
            for sub in (VERSIONS, STAGING):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
                os.chmod(self.root / sub, DIR_MODE)
            for leftover in (self.root / STAGING).iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
            for name in (CURRENT, PREVIOUS):
                tmp = self.root / f"{name}.new"
                if tmp.is_symlink():
                    tmp.unlink()
        except OSError as err:
            raise StoreError(f"{self.root}: {err.strerror}") from err
        self.prune()

    def staging(self) -> Path:
        """A fresh, empty directory to build a version in."""
        try:
            return Path(tempfile.mkdtemp(prefix="v-", dir=self.root / STAGING))
        except OSError as err:
            raise StoreError(f"{self.root / STAGING}: {err.strerror}") from err

    def current(self) -> Optional[Installed]:
        return self._read(CURRENT)

    def previous(self) -> Optional[Installed]:
        return self._read(PREVIOUS)

    def commit(self, staged: Path, playlist: Playlist) -> Installed:
        """Install the version built in ``staged`` (media files in place) as current."""
        try:
            (staged / PLAYLIST_FILE).write_text(
                json.dumps(playlist.to_json(), ensure_ascii=False, indent=1), encoding="utf-8"
            )
            for file in staged.iterdir():
                os.chmod(file, FILE_MODE)
                _fsync_file(file)
            os.chmod(staged, DIR_MODE)
            _fsync_dir(staged)
            target = self.root / VERSIONS / f"{self._next_number():06d}-{playlist.version}"
            os.rename(staged, target)
            _fsync_dir(target.parent)
            old = self._target(CURRENT)
            if old is not None:
                self._point(PREVIOUS, old)
            self._point(CURRENT, target.name)
        except OSError as err:
            raise StoreError(f"{self.root}: cannot install the version: {err.strerror}") from err
        self.prune()
        return Installed(playlist, target)

    def rollback(self) -> Installed:
        """Make ``previous`` current again, and the current one previous."""
        previous, current = self._target(PREVIOUS), self._target(CURRENT)
        if previous is None or self._read(PREVIOUS) is None:
            raise NoPreviousError("no previous playlist is kept on this kiosk")
        try:
            self._point(CURRENT, previous)
            if current is not None:
                self._point(PREVIOUS, current)
        except OSError as err:
            raise StoreError(f"{self.root}: cannot switch back: {err.strerror}") from err
        installed = self.current()
        if installed is None:
            raise StoreError(f"{self.root}: the previous version cannot be read")
        return installed

    def prune(self) -> None:
        keep = {self._target(CURRENT), self._target(PREVIOUS)}
        for directory in self._versions():
            if directory.name not in keep:
                shutil.rmtree(directory, ignore_errors=True)

    def _versions(self) -> Iterator[Path]:
        versions = self.root / VERSIONS
        return iter(sorted(versions.iterdir())) if versions.is_dir() else iter(())

    def _next_number(self) -> int:
        numbers = [int(p.name[:6]) for p in self._versions() if p.name[:6].isdigit()]
        return max(numbers, default=0) + 1

    def _target(self, name: str) -> Optional[str]:
        """The version directory's name ``name`` points at, if any."""
        try:
            return Path(os.readlink(self.root / name)).name
        except OSError:
            return None

    def _point(self, name: str, version: str) -> None:
        tmp = self.root / f"{name}.new"
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(f"{VERSIONS}/{version}", tmp)
        os.replace(tmp, self.root / name)
        _fsync_dir(self.root)

    def _read(self, name: str) -> Optional[Installed]:
        version = self._target(name)
        if version is None:
            return None
        directory = self.root / VERSIONS / version
        try:
            document = json.loads((directory / PLAYLIST_FILE).read_text(encoding="utf-8"))
            return Installed(parse_playlist(document), directory)
        except (OSError, ValueError, PlaylistError):
            return None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
