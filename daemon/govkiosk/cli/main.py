"""``govkioskctl``: look at and drive the local daemon over D-Bus."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from dbus_next import DBusError
from dbus_next.aio import MessageBus
from dbus_next.errors import AuthError, InvalidAddressError

from ..contract.connection import close, connect, plain
from ..contract.logs import printable_lines
from ..contract.names import BUS_NAME, KIOSK_INTERFACE, OBJECT_PATH
from . import backup, camera, check, face, fleet, items, keys, pin, promo, seal, stats, upkeep
from . import ofd as ofdctl
from . import sim as simctl
from . import webapp as webappctl
from .output import table

EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE


async def _kiosk(bus: MessageBus) -> Any:
    introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
    proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
    return proxy.get_interface(KIOSK_INTERFACE)


async def cmd_status(kiosk: Any, args: argparse.Namespace) -> str:
    info = plain(await kiosk.call_get_info())
    services = await kiosk.call_get_services()
    if args.json:
        rows = [dict(zip(("name", "state", "detail", "restarts"), s)) for s in services]
        return json.dumps({"kiosk": info, "services": rows}, ensure_ascii=False, indent=2)
    head = f"{info['kiosk_id']}  {info['name']}  version {info['version']}"
    return (
        head
        + "\n\n"
        + table(
            ("SERVICE", "STATE", "RESTARTS", "DETAIL"), [(s[0], s[1], s[3], s[2]) for s in services]
        )
    )


async def cmd_devices(kiosk: Any, args: argparse.Namespace) -> str:
    devices: List[Dict[str, Any]] = plain(await kiosk.call_list_devices())
    if args.json:
        return json.dumps(devices, ensure_ascii=False, indent=2)
    if not devices:
        return "no devices"
    columns = ("id", "role", "port", "state", "driver")
    return table([c.upper() for c in columns], [[d.get(c, "") for c in columns] for d in devices])


COMMANDS: Dict[str, Callable[[Any, argparse.Namespace], Any]] = {
    "status": cmd_status,
    "devices": cmd_devices,
    "items": items.command,
    "pin": pin.command,
    "stats": stats.command,
    "selftest": upkeep.selftest,
    "consumables": upkeep.consumables,
}


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkioskctl", description="control the govkiosk daemon")
    parser.add_argument(
        "--bus",
        default=os.environ.get("GOVKIOSK_BUS", "system"),
        help='"system" (default), "session" or a D-Bus address; or set GOVKIOSK_BUS',
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="the kiosk and the health of its services")
    sub.add_parser("devices", help="attached devices with role, port, state and driver health")
    backup.add_parser(sub)
    check.add_parser(sub)
    keys.add_parser(sub)
    pin.add_parser(sub)
    items.add_parser(sub)
    stats.add_parser(sub)
    upkeep.add_parser(sub)
    camera.add_parser(sub)
    seal.add_parser(sub)
    doc = sub.add_parser(
        "config-doc", help="print the configuration reference (docs/configuration.md)"
    )
    doc.add_argument("--output", type=Path, help="write it to this file instead")
    sim = sub.add_parser("sim", help="run a device simulator: govkioskctl sim <family> --help")
    sim.add_argument("family")
    sim.add_argument("sim_args", nargs=argparse.REMAINDER)
    sub.add_parser("fleet", help="remote operations: govkioskctl fleet --help")
    sub.add_parser("face", help="face verification tools: govkioskctl face --help")
    sub.add_parser("promo", help="the promotion screen's playlist: govkioskctl promo --help")
    sub.add_parser("ofd", help="OFD documents (info, render): govkioskctl ofd --help")
    sub.add_parser("webapp", help="web-app items (check URL, reference): govkioskctl webapp --help")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> int:
    try:
        bus = await connect(args.bus)
    except (OSError, ValueError, AuthError, InvalidAddressError) as err:
        print(f"govkioskctl: cannot reach the {args.bus} bus: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        kiosk = await _kiosk(bus)
        # What the daemon answers carries device ids, item names and details that came
        # from devices and files: their steering characters never reach the terminal.
        print(printable_lines(await COMMANDS[args.command](kiosk, args)))
    except pin.PinInputError as err:
        print(f"govkioskctl pin: {err}", file=sys.stderr)
        return 1
    except DBusError as err:
        print(f"govkioskctl: {printable_lines(err.text or '')}", file=sys.stderr)
        if err.type.startswith("org.freedesktop"):
            return EXIT_UNAVAILABLE
        return items.EXIT_CODES.get(err.type, 1)
    finally:
        await close(bus)
    return int(getattr(args, "exit_status", 0))


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fleet"]:  # its own parser, --help included
        return fleet.main(argv[1:])
    if argv[:1] == ["face"]:
        return face.main(argv[1:])
    if argv[:1] == ["promo"]:
        return promo.main(argv[1:])
    if argv[:1] == ["ofd"]:  # reads a file: no daemon
        return ofdctl.main(argv[1:])
    if argv[:1] == ["webapp"]:  # fetches a page, or writes the bridge reference: no daemon
        return webappctl.main(argv[1:])
    args = parse_args(argv)
    if args.command in ("backup", "restore", "oplog"):
        return backup.run(args)
    if args.command == "check":  # reads the configuration and the network, not only D-Bus
        return check.run(args)
    if args.command == "keys":  # reads the configuration's files: works without the daemon
        return keys.run(args)
    if args.command == "sim":
        return simctl.run(args.family, args.sim_args)
    if args.command == "camera":  # works without the daemon: udev's devices are listed too
        return camera.run(args)
    if args.command == "seal":  # a file and the configuration's trust anchors: no daemon
        return seal.run(args)
    if args.command == "config-doc":  # from the code alone: no daemon, no configuration
        # Imported here: it brings every section's settings, which other commands do not need.
        from . import configdoc  # noqa: PLC0415

        return configdoc.command(args)
    return asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
