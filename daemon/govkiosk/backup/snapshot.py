"""One backup: the database snapshot, the configuration, the version; then rotation."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import List

from .. import __version__
from ..errors import GovkioskError
from ..store import DB_NAME
from .settings import BackupSettings

PREFIX = "govkiosk-"
PARTIAL = ".partial"


class BackupError(GovkioskError):
    """A backup could not be written; the previous ones are untouched."""


def make_backup(state_dir: Path, config_dir: Path, settings: BackupSettings, now: datetime) -> Path:
    """Write one backup for the UTC time ``now``, then drop the oldest beyond ``keep``."""
    root = Path(settings.dir)
    target = root / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}"
    partial = target.with_name(target.name + PARTIAL)
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_partials(root)
        partial.mkdir()
        database = state_dir / DB_NAME
        if database.exists():
            _copy_database(database, partial / DB_NAME)
        shutil.copytree(config_dir, partial / "etc", symlinks=True)
        (partial / "VERSION").write_text(__version__ + "\n", encoding="utf-8")
        partial.rename(target)
    except (OSError, sqlite3.Error) as err:
        raise BackupError(f"backup into {root} failed: {err}") from err
    for old in backups(root)[: -settings.keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def backups(root: Path) -> List[Path]:
    """Complete backups in ``root``, oldest first (their names sort by time)."""
    return sorted(p for p in root.glob(PREFIX + "*") if p.is_dir() and not p.name.endswith(PARTIAL))


def _remove_partials(root: Path) -> None:
    for leftover in root.glob(PREFIX + "*" + PARTIAL):
        shutil.rmtree(leftover)


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
