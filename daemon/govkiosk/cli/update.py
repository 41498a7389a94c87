"""``govkiosk-update``: the privileged installer (root; docs/updates.md).

    govkiosk-update install     the daemon's request: verify again, install, restart,
                                check health, roll back if unhealthy (govkiosk-update.service)
    govkiosk-update recover     at boot: an installation cut short (power lost) is repaired
                                and kept if healthy, else rolled back
    govkiosk-update adopt FILE… keep the installed version's packages for a rollback
    govkiosk-update status      the last update's phase, as JSON

``--service-manager process --daemon-command '…' --pidfile … --bus …`` replaces systemd where
none runs (containers, CI): the daemon is started as a child and its READY=1 read directly.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import List, Optional

from ..config import DEFAULT_PATH, load_config
from ..errors import GovkioskError
from ..store import DEFAULT_STATE_DIR
from ..updates import phases
from ..updates.installer import Installer, Process, ServiceManager, Systemd

EXIT_FAILED = 1
EXIT_USAGE = 2


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkiosk-update", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--service-manager", choices=("systemd", "process"), default="systemd")
    parser.add_argument("--daemon-command", default="", help="process mode: the daemon's command")
    parser.add_argument("--pidfile", type=Path, help="process mode: where the daemon's pid is kept")
    parser.add_argument("--bus", default="system", help="the daemon's D-Bus (health check)")
    parser.add_argument("--ctl", default="/usr/bin/govkioskctl", help="govkioskctl to ask with")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="carry out the daemon's request")
    sub.add_parser("recover", help="finish or roll back an installation cut short")
    adopt = sub.add_parser("adopt", help="keep the installed version's packages for rollback")
    adopt.add_argument("files", nargs="+", type=Path)
    sub.add_parser("status", help="the last update's phase")
    return parser.parse_args(argv)


def _manager(args: argparse.Namespace, root: Path) -> ServiceManager:
    if args.service_manager == "systemd":
        return Systemd(ctl=args.ctl, bus=args.bus)
    if not args.daemon_command or args.pidfile is None:
        raise SystemExit("govkiosk-update: process mode needs --daemon-command and --pidfile")
    return Process(shlex.split(args.daemon_command), args.pidfile, args.ctl, args.bus, root)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        settings = load_config(args.config).updates
    except GovkioskError as err:
        print(f"govkiosk-update: {err}", file=sys.stderr)
        return EXIT_USAGE
    root = Path(settings.installer_dir)
    if args.command == "status":
        progress = phases.read(root / "status.json")
        print(json.dumps(progress.as_dict() if progress else None, ensure_ascii=False))
        return 0
    spool = Path(settings.spool) if settings.spool else args.state_dir / "updates"
    root.mkdir(mode=0o755, parents=True, exist_ok=True)
    installer = Installer(settings, spool, _manager(args, root))
    try:
        if args.command == "adopt":
            version = installer.adopt(args.files)
            print(f"govkiosk-update: the packages of {version} are kept for a rollback")
            return 0
        if args.command == "recover":
            progress = installer.recover()
        else:
            progress = installer.install_requested()
    except GovkioskError as err:
        print(f"govkiosk-update: {err}", file=sys.stderr)
        return EXIT_FAILED
    if progress is None:
        nothing = "nothing was cut short" if args.command == "recover" else "no update requested"
        print(f"govkiosk-update: {nothing}")
        return 0
    print(f"govkiosk-update: {progress.version}: {progress.phase.value} {progress.detail}".rstrip())
    return 0 if progress.phase is phases.Phase.HEALTHY else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
