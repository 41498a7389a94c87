"""``govkioskctl selftest [--json]`` and ``govkioskctl consumables [refill receipt|a4]``
(``cn.govkiosk.Upkeep1``): the daily self-test run now, the consumables' predicted levels,
the availability, and a refill recorded."""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List, Optional

from ..contract.names import BUS_NAME, OBJECT_PATH, UPKEEP_INTERFACE
from .output import table

#: The exit status of ``selftest`` when a check failed.
EXIT_FAILED = 1


def add_parser(commands: Any) -> None:
    selftest = commands.add_parser("selftest", help="run the daily self-test now")
    selftest.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    supplies = commands.add_parser(
        "consumables", help="receipt paper and A4 predicted left, uptime; refill"
    )
    supplies.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    sub = supplies.add_subparsers(dest="consumables_command")
    refill = sub.add_parser("refill", help="record a new receipt roll or a refilled A4 tray")
    refill.add_argument("name", choices=("receipt", "a4"))


async def _upkeep(kiosk: Any) -> Any:
    introspection = await kiosk.bus.introspect(BUS_NAME, OBJECT_PATH)
    proxy = kiosk.bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
    return proxy.get_interface(UPKEEP_INTERFACE)


def _percent(value: Optional[float]) -> str:
    return "unknown" if value is None else f"{value:.2f} %"


def selftest_text(result: Dict[str, Any]) -> str:
    rows = [(c["name"], "pass" if c["passed"] else "FAIL", c["detail"]) for c in result["checks"]]
    verdict = "self-test passed" if result["passed"] else "self-test FAILED"
    return table(("CHECK", "RESULT", "DETAIL"), rows) + "\n\n" + verdict


def levels_text(levels: List[Dict[str, Any]]) -> str:
    rows = [
        (
            lv["name"],
            f"{lv['remaining_percent']:.1f} %" + ("  LOW" if lv["low"] else ""),
            f"{lv['remaining']:.0f} / {lv['capacity']} {lv['unit']}",
        )
        for lv in levels
    ]
    return table(("CONSUMABLE", "LEFT", "AMOUNT"), rows)


async def selftest(kiosk: Any, args: argparse.Namespace) -> str:
    """``kiosk`` is the daemon's ``Kiosk1`` proxy (for its bus)."""
    result = json.loads(await (await _upkeep(kiosk)).call_self_test())
    if not result["passed"]:
        args.exit_status = EXIT_FAILED
    if getattr(args, "json", False):
        return json.dumps(result, ensure_ascii=False, indent=2)
    return selftest_text(result)


async def consumables(kiosk: Any, args: argparse.Namespace) -> str:
    upkeep = await _upkeep(kiosk)
    if getattr(args, "consumables_command", None) == "refill":
        level = json.loads(await upkeep.call_refill(args.name))
        if getattr(args, "json", False):
            return json.dumps(level, ensure_ascii=False, indent=2)
        return f"{args.name} refilled: {level['remaining_percent']:.0f} % left"
    report = json.loads(await upkeep.call_report())
    if getattr(args, "json", False):
        return json.dumps(report, ensure_ascii=False, indent=2)
    availability = report["availability"]
    last = report["selftest"]
    lines = [
        levels_text(report["consumables"]),
        "",
        f"in service: {_percent(availability['24h'])} over 24 h, "
        f"{_percent(availability['30d'])} over 30 days",
        "last self-test: "
        + ("none yet" if last is None else ("passed" if last["passed"] else "FAILED")),
    ]
    return "\n".join(lines)
