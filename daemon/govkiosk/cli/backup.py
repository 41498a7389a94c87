"""``govkioskctl backup``: run by govkiosk-backup.timer, or by hand before an upgrade."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..backup.snapshot import BackupError, make_backup
from ..config import DEFAULT_PATH, load_config
from ..store import DEFAULT_STATE_DIR
from ..tables import ConfigError

EXIT_FAILED = 1


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "backup", help="copy the state database and the configuration to [backup] dir (§8 e)"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help="main configuration file")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        target = make_backup(
            args.state_dir, args.config.parent, config.backup, datetime.now(timezone.utc)
        )
    except (ConfigError, BackupError) as err:
        print(f"govkioskctl backup: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(f"backup written: {target}")
    return 0
