"""``govkioskctl backup``, ``restore`` and ``oplog``: run by govkiosk-backup.timer, or by
hand before an upgrade; a restore onto a fresh install; the ops log's hash chain (§8 e)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from ..backup.snapshot import BackupError, make_backup, new_key, read_key, restore
from ..config import DEFAULT_PATH, load_config
from ..errors import GovkioskError
from ..ops.oplog import OpsLog, verify
from ..store import DB_NAME, DEFAULT_STATE_DIR, Store, StoreError
from ..tables import ConfigError

EXIT_FAILED = 1
EXIT_BROKEN = 2


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "backup",
        help="encrypted backup of the state database, configuration and packages to"
        " [backup] dir (§8 e)",
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help="main configuration file")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--new-key",
        type=Path,
        metavar="PATH",
        help="write a new backup key to PATH (refuses an existing file) and stop",
    )
    parser = commands.add_parser(
        "restore", help="restore a backup onto a fresh install (then start govkioskd)"
    )
    parser.add_argument("archive", type=Path)
    parser.add_argument("--key", type=Path, required=True, help="the backup key file")
    parser.add_argument("--config-dir", type=Path, default=DEFAULT_PATH.parent)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--packages-dir", type=Path, help="where to put the backed-up .deb/.rpm files"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing database and configuration"
    )
    parser = commands.add_parser("oplog", help="the ops log's hash chain (§8 e)")
    parser.add_argument("action", choices=("verify",))
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)


def run(args: argparse.Namespace) -> int:
    if args.command == "restore":
        return _restore(args)
    if args.command == "oplog":
        return _verify(args)
    if args.new_key is not None:
        return _new_key(args.new_key)
    try:
        config = load_config(args.config)
        target = make_backup(
            args.state_dir, args.config.parent, config.backup, datetime.now(timezone.utc)
        )
    except (ConfigError, BackupError) as err:
        print(f"govkioskctl backup: {err}", file=sys.stderr)
        _record(args.state_dir, "backup", "failed", {"error": str(err)})
        return EXIT_FAILED
    _record(args.state_dir, "backup", "written", {"archive": target.name})
    print(f"backup written: {target}")
    return 0


def _new_key(path: Path) -> int:
    try:
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        print(f"govkioskctl backup: {path}: {err.strerror}", file=sys.stderr)
        return EXIT_FAILED
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(new_key())
    print(f"backup key written: {path} (keep a copy off the kiosk: restores need it)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    try:
        key = read_key(args.key)
        restored = restore(
            args.archive,
            key,
            args.state_dir,
            args.config_dir,
            packages_dir=args.packages_dir,
            force=args.force,
        )
    except GovkioskError as err:
        print(f"govkioskctl restore: {err}", file=sys.stderr)
        return EXIT_FAILED
    manifest = restored.manifest
    _record(
        args.state_dir,
        "restore",
        "restored",
        {
            "archive": args.archive.name,
            "made": manifest.get("made"),
            "version": manifest.get("version"),
        },
    )
    print(
        f"restored {args.archive.name}"
        f" (made {manifest.get('made')}, version {manifest.get('version')})"
    )
    for package in manifest.get("packages", []):
        print(f"package {package['name']} {package['version'] or '(not installed)'}")
    if restored.packages:
        print("install the packages with: apt install " + " ".join(map(str, restored.packages)))
    return 0


def _verify(args: argparse.Namespace) -> int:
    if not (args.state_dir / DB_NAME).exists():
        print(f"govkioskctl oplog: no database in {args.state_dir}", file=sys.stderr)
        return EXIT_FAILED
    try:
        verdict = verify(args.state_dir)
    except sqlite3.Error as err:  # no ops log table (never written, or dropped), damage
        print(f"govkioskctl oplog: {args.state_dir / DB_NAME}: {err}", file=sys.stderr)
        return EXIT_FAILED
    if verdict.ok:
        print(f"ops log intact: {verdict.checked} records")
        return 0
    print(
        f"ops log broken at record {verdict.broken}: {verdict.reason}"
        f" ({verdict.checked} records before it are intact)",
        file=sys.stderr,
    )
    return EXIT_BROKEN


def _record(state_dir: Path, kind: str, code: str, detail: Mapping[str, Any]) -> None:
    """Append to the ops log; a backup still counts when the log cannot be written."""

    if not (state_dir / DB_NAME).exists():
        return

    async def append() -> None:
        store = Store(state_dir)
        await store.open()
        try:
            await OpsLog(store).append(kind, code, detail)
        finally:
            await store.close()

    try:
        asyncio.run(append())
    except (StoreError, OSError, sqlite3.Error, GovkioskError) as err:
        print(f"govkioskctl: the ops log was not written: {err}", file=sys.stderr)
