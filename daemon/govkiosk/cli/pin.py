"""``govkioskctl pin status|set``: the maintenance PIN's age and its change (§8 f).

``pin set`` reads the current PIN and the new one from standard input, one a line (or
asks for them on a terminal), never from the command line (``ps`` shows arguments), and
calls ``Maintenance1.ChangePin``: an expired PIN still changes itself this way. Wrong
current PINs count towards the login lockout.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, Tuple

from ..contract.names import BUS_NAME, MAINTENANCE_INTERFACE, OBJECT_PATH


class PinInputError(Exception):
    """The PINs could not be read, or the two new ones differ."""


def add_parser(commands: Any) -> None:
    pin = commands.add_parser("pin", help="the maintenance PIN: days left, change it (§8 f)")
    actions = pin.add_subparsers(dest="pin_command", required=True)
    actions.add_parser("status", help="days until the PIN expires")
    actions.add_parser(
        "set", help="change the PIN (current and new PIN on stdin, one a line; or asked)"
    )


async def command(kiosk: Any, args: argparse.Namespace) -> str:
    introspection = await kiosk.bus.introspect(BUS_NAME, OBJECT_PATH)
    proxy = kiosk.bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
    maintenance = proxy.get_interface(MAINTENANCE_INTERFACE)
    if args.pin_command == "status":
        expires, left = await maintenance.call_pin_status()
        return describe(bool(expires), int(left))
    current, new = read_pins()
    left = await maintenance.call_change_pin(current, new)
    return "PIN changed; " + describe(left >= 0, int(left))


def describe(expires: bool, left: int) -> str:
    if not expires:
        return "the PIN does not expire (pin_max_age_days = 0, or pin_set is empty)"
    if left <= 0:
        return f"the PIN expired {-left} day(s) ago: change it (govkioskctl pin set)"
    return f"the PIN expires in {left} day(s)"


def read_pins() -> Tuple[str, str]:
    if sys.stdin.isatty():
        current = getpass.getpass("current PIN: ")
        new = getpass.getpass("new PIN: ")
        if getpass.getpass("new PIN again: ") != new:
            raise PinInputError("the two new PINs differ")
        return current, new
    lines = sys.stdin.read().splitlines()
    if len(lines) < 2:
        raise PinInputError("expected the current PIN and the new one on stdin, one a line")
    return lines[0].strip(), lines[1].strip()
