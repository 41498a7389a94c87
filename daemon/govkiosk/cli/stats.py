"""``govkioskctl stats [--days N] [--json]``: sessions and 好差评 per item (``Kiosk1.Statistics``).

The counts are aggregated per day and item in the daemon (no personal data); ``--days``
0 (the default) shows all that are kept (``[evaluation] keep_days``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List

from .output import table

#: Table columns: outcomes folded as a citizen sees them (the JSON keeps each one).
COLUMNS = (
    ("DONE", ("done",)),
    ("FAILED", ("failed",)),
    ("CANCELLED", ("cancelled", "home")),
    ("EXPIRED", ("expired", "walked_away")),
)
LEVELS = ("5", "4", "3", "2", "1")


def add_parser(commands: Any) -> None:
    stats = commands.add_parser("stats", help="sessions and evaluations (好差评) per item")
    stats.add_argument(
        "--days", type=_days, default=0, help="the last N days, today's included (0: all kept)"
    )
    # Also after the subcommand; SUPPRESS keeps a --json given before it.
    stats.add_argument("--json", action="store_true", default=argparse.SUPPRESS)


def _days(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 36_599:
        raise argparse.ArgumentTypeError("expected 0 (all kept) to 36599 days")
    return value


def document(reply: List[Any], days: int) -> Dict[str, Any]:
    first, last, rows = reply
    return {
        "days": days,
        "first_day": first,
        "last_day": last,
        "items": {
            code: {
                "sessions": dict(sessions),
                "evaluations": dict(levels),
                "reasons": dict(reasons),
            }
            for code, sessions, levels, reasons in rows
        },
    }


async def command(kiosk: Any, args: argparse.Namespace) -> str:
    """``kiosk`` is the daemon's ``Kiosk1`` proxy."""
    report = document(await kiosk.call_statistics(args.days), args.days)
    if args.json:
        return json.dumps(report, ensure_ascii=False, indent=2)
    if not report["items"]:
        return "nothing counted yet"
    cells = []
    for code, counts in report["items"].items():
        sessions, levels = counts["sessions"], counts["evaluations"]
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(counts["reasons"].items()))
        cells.append(
            (
                code,
                *(sum(sessions.get(o, 0) for o in outcomes) for _, outcomes in COLUMNS),
                sum(levels.values()),
                *(levels.get(level, 0) for level in LEVELS),
                reasons,
            )
        )
    head = f"{report['first_day']} .. {report['last_day']}"
    headers = ("ITEM", *(c for c, _ in COLUMNS), "RATED", *LEVELS, "REASONS")
    return head + "\n\n" + table(headers, cells)
