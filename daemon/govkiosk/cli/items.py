"""``govkioskctl items …``: the item lifecycle from the command line, over ``cn.govkiosk.Items1``.

Reading (``list``, ``show``, ``history``) needs no role; every transition takes
``--role`` and the daemon decides whether that role may perform it (docs/items.md).
Exit status: 0 done; 1 refused (``InvalidTransition``, ``UnknownItem``, other daemon
errors); 2 usage (including an unreadable local file); 65 bad data (``CatalogueFile``,
``InvalidRequest``); 69 daemon unreachable; 70 internal daemon error; 77 ``WrongRole``.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple

from dbus_next import Variant

from ..contract.names import BUS_NAME, ERROR_PREFIX, INTERNAL_ERROR, ITEMS_INTERFACE, OBJECT_PATH
from ..items.roles import Role
from .output import table

EXIT_REFUSED = 1
EXIT_DATA = 65  # EX_DATAERR
EXIT_SOFTWARE = 70  # EX_SOFTWARE
EXIT_NOPERM = 77  # EX_NOPERM

#: Exit status by D-Bus error name; other daemon errors exit with EXIT_REFUSED.
EXIT_CODES: Dict[str, int] = {
    ERROR_PREFIX + "WrongRole": EXIT_NOPERM,
    ERROR_PREFIX + "CatalogueFile": EXIT_DATA,
    ERROR_PREFIX + "InvalidRequest": EXIT_DATA,
    INTERNAL_ERROR: EXIT_SOFTWARE,
}

VERDICTS = ("passed", "failed")


class LocalFile(NamedTuple):
    """A file named on the command line, read here: the daemon may not see the caller's files."""

    path: str
    text: str


def _text_file(path: str) -> LocalFile:
    """An argument naming a local file: its UTF-8 text, or a usage error."""
    try:
        return LocalFile(path, Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {err}") from err


def add_parser(commands: Any) -> None:
    """Add ``items`` and its subcommands to ``govkioskctl``'s subcommand parsers."""
    items = commands.add_parser("items", help="service items and their lifecycle (§7.1.2)")
    sub = items.add_subparsers(dest="items_command", required=True)
    sub.add_parser("list", help="published items and open change requests")
    for name, what in (("show", "an item and its open request"), ("history", "its audit")):
        sub.add_parser(name, help=what).add_argument("code")

    def transition(name: str, what: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=what)
        parser.add_argument("code")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        return parser

    apply = transition("apply", "department: apply to add, change or revoke an item")
    apply.add_argument("--kind", required=True, choices=("add", "change", "revoke"))
    apply.add_argument("--name", default="", help="the item's name (required to add one)")
    for field in ("reason", "plan", "function"):
        apply.add_argument(f"--{field}", required=True)
    evaluate = transition("evaluate", "managing office: approve or reject an application")
    verdict = evaluate.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", dest="approved", action="store_true")
    verdict.add_argument("--reject", dest="approved", action="store_false")
    evaluate.add_argument("--necessity", required=True)
    evaluate.add_argument("--feasibility", required=True)
    develop = transition("develop", "developer: attach the item's definition")
    develop.add_argument(
        "--item", required=True, type=_text_file, help="a catalogue file with the item's entry"
    )
    verify = transition("verify", "tester: attach the verification test record")
    verify.add_argument("--run", required=True, help="the test run's reference")
    verify.add_argument("--summary", required=True)
    for check in ("functional", "performance", "security"):
        verify.add_argument(f"--{check}", required=True, choices=VERDICTS)
    transition("publish", "department: confirm and publish the verified version")
    sync = sub.add_parser("sync", help="managing office: replace the published list")
    sync.add_argument("catalogue", type=_text_file, help="a catalogue file (docs/items.md)")
    sync.add_argument("--role", required=True, choices=[r.value for r in Role])


async def command(kiosk: Any, args: argparse.Namespace) -> str:
    """Run one ``items`` subcommand; ``kiosk`` is the daemon's ``Kiosk1`` proxy."""
    introspection = await kiosk.bus.introspect(BUS_NAME, OBJECT_PATH)
    proxy = kiosk.bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
    items = proxy.get_interface(ITEMS_INTERFACE)
    text: str = await _COMMANDS[args.items_command](items, args)
    return text


def _strings(**fields: Any) -> Dict[str, Variant]:
    return {k: Variant("b" if isinstance(v, bool) else "s", v) for k, v in fields.items()}


def _request(summary: Dict[str, Variant], args: argparse.Namespace) -> str:
    plain = {k: v.value for k, v in summary.items()}
    if args.json:
        return json.dumps(plain, ensure_ascii=False, indent=2)
    return "{code}: {kind} request #{id} (version {version}) is {state}".format(**plain)


async def _list(items: Any, args: argparse.Namespace) -> str:
    rows = [{k: v.value for k, v in row.items()} for row in await items.call_list()]
    if args.json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    cells = [
        (
            r["code"],
            r["name"],
            r["version"] if r["published"] else "-",
            f"{r['request_kind']} #{r['request_id']}: {r['request_state']}"
            if "request_id" in r
            else "",
        )
        for r in rows
    ]
    return table(("CODE", "NAME", "PUBLISHED", "OPEN REQUEST"), cells)


async def _show(items: Any, args: argparse.Namespace) -> str:
    document = json.loads(await items.call_show(args.code))
    return json.dumps(document, ensure_ascii=False, indent=2)


async def _history(items: Any, args: argparse.Namespace) -> str:
    rows = [{k: v.value for k, v in row.items()} for row in await items.call_history(args.code)]
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    if args.json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    lines: List[str] = []
    for r in rows:
        when = datetime.datetime.fromtimestamp(r["at"]).isoformat(" ", "seconds")
        request = f" #{r['request']}" if r["request"] else ""
        moved = f"{r['from'] or '-'} -> {r['to']}"
        lines.append(f"{when}  {r['action']}{request} by {r['role']}: {moved} (v{r['version']})")
    return "\n".join(lines)


async def _apply(items: Any, args: argparse.Namespace) -> str:
    application = _strings(
        name=args.name, reason=args.reason, plan=args.plan, function=args.function
    )
    return _request(await items.call_apply(args.role, args.kind, args.code, application), args)


async def _evaluate(items: Any, args: argparse.Namespace) -> str:
    evaluation = _strings(
        approved=args.approved, necessity=args.necessity, feasibility=args.feasibility
    )
    return _request(await items.call_evaluate(args.role, args.code, evaluation), args)


async def _develop(items: Any, args: argparse.Namespace) -> str:
    summary = await items.call_develop(args.role, args.code, args.item.text, args.item.path)
    return _request(summary, args)


async def _verify(items: Any, args: argparse.Namespace) -> str:
    record = _strings(
        run=args.run,
        summary=args.summary,
        functional=args.functional,
        performance=args.performance,
        security=args.security,
    )
    return _request(await items.call_verify(args.role, args.code, record), args)


async def _publish(items: Any, args: argparse.Namespace) -> str:
    return _request(await items.call_publish(args.role, args.code), args)


async def _sync(items: Any, args: argparse.Namespace) -> str:
    changed = await items.call_sync(args.role, args.catalogue.text, args.catalogue.path)
    if args.json:
        return json.dumps(changed)
    return f"catalogue synced; changed: {', '.join(changed) or 'nothing'}"


_COMMANDS: Dict[str, Callable[[Any, argparse.Namespace], Any]] = {
    "list": _list,
    "show": _show,
    "history": _history,
    "apply": _apply,
    "evaluate": _evaluate,
    "develop": _develop,
    "verify": _verify,
    "publish": _publish,
    "sync": _sync,
}
