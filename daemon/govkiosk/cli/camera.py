"""``govkioskctl camera …``: the cameras as the daemon and udev see them.

``list`` shows the cameras the daemon serves (``cn.govkiosk.Cameras1``: role, state,
mode) and the V4L2 devices udev knows (to find the port of a newly fitted camera); it
works without the daemon, saying so. ``snapshot ROLE --out FILE`` writes one JPEG from
the daemon (refused while a citizen's session is in progress). Exit status: 0 done;
1 refused by the daemon; 69 daemon unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from dbus_next import DBusError
from dbus_next.errors import AuthError, InterfaceNotFoundError, InvalidAddressError

from ..contract.connection import close, connect, plain
from ..contract.names import BUS_NAME, CAMERAS_INTERFACE, OBJECT_PATH
from ..devices.camera.v4l2 import VideoDevice, video_devices
from . import crop
from .output import table

EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE


def add_parser(commands: Any) -> None:
    """Add ``camera`` and its subcommands to ``govkioskctl``'s subcommand parsers."""
    camera = commands.add_parser("camera", help="cameras: list, snapshot (§6.2 b, d)")
    sub = camera.add_subparsers(dest="camera_command", required=True)
    listing = sub.add_parser("list", help="the daemon's cameras and the V4L2 devices found")
    listing.add_argument("--json", dest="camera_json", action="store_true", help="print JSON")
    snapshot = sub.add_parser("snapshot", help="one JPEG from a camera, for mounting and focus")
    snapshot.add_argument("role", help="face_camera_rgb, face_camera_ir or doc_camera")
    snapshot.add_argument("--out", type=Path, required=True, help="the JPEG file to write")
    crop.add_parser(sub)  # offline: a photo of a page, as the document camera's scan


class Unreachable(Exception):
    """The daemon (or its camera interface) cannot be reached; the message says why."""


async def _cameras_proxy(address: str) -> Tuple[Any, Any]:
    try:
        bus = await connect(address)
    except (OSError, ValueError, AuthError, InvalidAddressError) as err:
        raise Unreachable(f"cannot reach the {address} bus: {err}") from err
    try:
        introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
        proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        return bus, proxy.get_interface(CAMERAS_INTERFACE)
    except DBusError as err:
        await close(bus)
        raise Unreachable(f"the daemon is not running ({err.text})") from err
    except InterfaceNotFoundError as err:
        await close(bus)
        raise Unreachable("the daemon serves no camera interface") from err


async def _daemon_cameras(address: str) -> Tuple[List[Dict[str, Any]], str]:
    """The daemon's rows and ``""``, or no rows and why not."""
    try:
        bus, cameras = await _cameras_proxy(address)
    except Unreachable as err:
        return [], str(err)
    try:
        return plain(await cameras.call_list_cameras()), ""
    except DBusError as err:
        return [], err.text
    finally:
        await close(bus)


def _v4l2() -> Tuple[List[VideoDevice], str]:
    try:
        return video_devices(), ""
    except (OSError, ImportError) as err:
        return [], f"udev cannot be read: {err}"


async def cmd_list(args: argparse.Namespace) -> int:
    rows, daemon_problem = await _daemon_cameras(args.bus)
    devices, udev_problem = _v4l2()
    if args.json or args.camera_json:
        document = {
            "cameras": rows,
            "daemon": daemon_problem or "ok",
            "v4l2": [dataclasses.asdict(d) for d in devices],
            "udev": udev_problem or "ok",
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    parts: List[str] = []
    if daemon_problem:
        parts.append(f"daemon: {daemon_problem}")
    elif rows:
        columns = ("role", "id", "state", "resolution", "fps", "detail")
        parts.append(table([c.upper() for c in columns], [_cells(r, columns) for r in rows]))
    else:
        parts.append("daemon: no cameras configured")
    if udev_problem:
        parts.append(udev_problem)
    elif devices:
        parts.append(
            table(
                ("NODE", "NAME", "USB ID", "MODEL", "CAPABILITIES"),
                [
                    (
                        d.node,
                        d.name,
                        f"{d.vendor}:{d.product}" if d.vendor else "",
                        d.model,
                        ",".join(d.capabilities),
                    )
                    for d in devices
                ],
            )
        )
    else:
        parts.append("no V4L2 devices found")
    print("\n\n".join(parts))
    return 0


def _cells(row: Dict[str, Any], columns: Tuple[str, ...]) -> List[str]:
    cells = []
    for column in columns:
        value = row.get(column, "")
        if column == "fps":
            measured = row.get("measured_fps") or 0
            value = f"{measured:g} (of {value:g})" if measured else (f"{value:g}" if value else "")
        cells.append(str(value))
    return cells


async def cmd_snapshot(args: argparse.Namespace) -> int:
    try:
        bus, cameras = await _cameras_proxy(args.bus)
    except Unreachable as err:
        print(f"govkioskctl camera: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        jpeg: bytes = await cameras.call_snapshot(args.role)
    except DBusError as err:
        print(f"govkioskctl camera: {err.text}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await close(bus)
    try:
        args.out.write_bytes(jpeg)
    except OSError as err:
        print(f"govkioskctl camera: cannot write {args.out}: {err}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{args.role}: {len(jpeg)} bytes written to {args.out}")
    return 0


COMMANDS: Dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "list": cmd_list,
    "snapshot": cmd_snapshot,
}


async def _main(args: argparse.Namespace) -> int:
    return await COMMANDS[args.camera_command](args)


def run(args: argparse.Namespace) -> int:
    if args.camera_command == "crop":
        return crop.run(args)
    return asyncio.run(_main(args))
