"""The methods ops may call, each one line in :data:`METHODS`: roles, handler, whether
it disrupts a citizen (then it waits until the kiosk is idle, at most until the
command expires).

Handlers return a JSON-able result or raise a :class:`~govkiosk.errors.GovkioskError`
whose message becomes the FAILED reply's detail.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Optional

from ..bus import Event
from ..contract.connection import plain
from ..contract.logs import printable
from ..contract.names import (
    DEVICES_INTERFACE,
    POWER_INTERFACE,
    PROMO_INTERFACE,
    RECEIPT_INTERFACE,
    UI_BUS_NAME,
    UI_INTERFACE,
    UI_PATH,
    UPDATES_INTERFACE,
    UPKEEP_INTERFACE,
)
from ..dbus.call import call
from ..evaluation.store import ALL_DAYS
from ..power.logind import LOGIND, LOGIND_PATH, MANAGER
from . import items, remote_config, roles
from .context import Context
from .envelope import Command
from .params import MethodError, param

_LOGGER = logging.getLogger(__name__)

#: ``daemon.restart`` exits with EX_TEMPFAIL; the unit's ``Restart=on-failure`` restarts it.
EXIT_RESTART = 75
#: Time for the final reply to leave before the daemon stops.
RESTART_DELAY = 0.5
TAIL_MAX = 500


@dataclass(frozen=True)
class RebootRequested(Event):
    """ops asked for a reboot; with ``dry_run`` nothing more happens."""

    cmd_id: str
    dry_run: bool


Handler = Callable[[Context, Command], Awaitable[Dict[str, Any]]]


@dataclass(frozen=True)
class Method:
    roles: FrozenSet[str]
    handler: Handler
    disruptive: bool = False


async def status(ctx: Context, _command: Command) -> Dict[str, Any]:
    kiosk = ctx.host.kiosk()
    return {
        "kiosk": {"id": ctx.host.kiosk_id, "name": kiosk.name, "region": kiosk.region},
        "config_hash": ctx.host.config_hash(),
        **ctx.view.health(),
        "usage": await ctx.view.usage_report(),
        "upkeep": await ctx.view.upkeep_report(),
    }


async def stats(ctx: Context, command: Command) -> Dict[str, Any]:
    """Per published item: sessions by outcome, 好差评 by level and reason (no personal data)."""
    days = param(command, "days", int, 0)
    if not 0 <= days < ALL_DAYS:
        raise MethodError(f"params.days: expected 0 (all kept) to {ALL_DAYS - 1}")
    return {"days": days, **await ctx.view.usage(days)}


async def devices(ctx: Context, _command: Command) -> Dict[str, Any]:
    return {"devices": ctx.view.device_rows()}


async def screenshot(ctx: Context, _command: Command) -> Dict[str, Any]:
    # A citizen's screen may show personal data (§8 d): only an idle kiosk is pictured.
    if not ctx.host.activity.idle:
        raise MethodError("a citizen is being served; try again when the kiosk is idle")
    settings = ctx.settings()
    (png,) = await call(
        settings.ui_bus,
        UI_INTERFACE,
        "Screenshot",
        destination=UI_BUS_NAME,
        path=UI_PATH,
        timeout=settings.screenshot_timeout,
    )
    return {"png": base64.b64encode(bytes(png)).decode("ascii"), "bytes": len(png)}


async def ops_log_tail(ctx: Context, command: Command) -> Dict[str, Any]:
    lines = param(command, "lines", int, 50)
    if not 0 < lines <= TAIL_MAX:
        raise MethodError(f"params.lines: expected 1 to {TAIL_MAX}")
    return {"entries": await ctx.oplog.tail(lines, param(command, "kind", str, ""))}


#: Where ``govkioskctl check`` keeps acceptance reports, under the state dir.
REPORTS = "reports"


def _newest_report(directory: Path) -> Dict[str, Any]:
    reports = sorted(directory.glob("acceptance-*.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        raise MethodError("no acceptance report: run govkioskctl check on the kiosk")
    newest = reports[-1]
    signature = newest.with_suffix(".sig")
    return {
        "name": newest.name,
        "report": json.loads(newest.read_text(encoding="utf-8")),
        "signature": json.loads(signature.read_text(encoding="utf-8"))
        if signature.exists()
        else None,
    }


async def acceptance_report(ctx: Context, _command: Command) -> Dict[str, Any]:
    """The newest acceptance report of ``govkioskctl check`` (§6.4.2) with its detached
    signature; it names no person but the engineer who ran it."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _newest_report, ctx.host.state_dir / REPORTS)


async def ui_restart(ctx: Context, _command: Command) -> Dict[str, Any]:
    await call(
        ctx.settings().ui_bus, UI_INTERFACE, "Restart", destination=UI_BUS_NAME, path=UI_PATH
    )
    return {"restarted": "ui"}


async def daemon_restart(ctx: Context, _command: Command) -> Dict[str, Any]:
    asyncio.get_running_loop().call_later(RESTART_DELAY, ctx.host.exit, EXIT_RESTART)
    return {"exit_status": EXIT_RESTART}


async def reboot(ctx: Context, command: Command) -> Dict[str, Any]:
    settings = ctx.settings()
    ctx.host.bus.publish(RebootRequested(command.cmd_id, settings.dry_run))
    if settings.dry_run:
        _LOGGER.warning("ops: reboot requested by %s (dry run)", command.issuer)
        return {"rebooting": False, "dry_run": True}
    await call(
        settings.logind_bus,
        MANAGER,
        "Reboot",
        "b",
        [False],
        destination=LOGIND,
        path=LOGIND_PATH,
    )
    _LOGGER.warning("ops: logind is rebooting the kiosk (asked by %s)", printable(command.issuer))
    return {"rebooting": True, "dry_run": False}


async def config_set(ctx: Context, command: Command) -> Dict[str, Any]:
    values = param(command, "values", dict)
    unknown = set(command.params) - {"values", "cosign"}
    if unknown:
        raise MethodError(f"unknown parameter(s): {', '.join(sorted(map(printable, unknown)))}")
    remote_config.check(
        values,
        remote_config.parse_cosign(command.params.get("cosign")),
        kiosk_id=ctx.host.kiosk_id,
        cmd_id=command.cmd_id,
        signer_key_id=command.key_id,
        settings=ctx.settings(),
        config_dir=ctx.host.config_dir,
    )
    return await ctx.host.apply_config(values, ctx.settings().settle_time)


async def usb_open(ctx: Context, command: Command) -> Dict[str, Any]:
    (expires,) = await call(
        ctx.daemon_bus,
        DEVICES_INTERFACE,
        "OpenMaintenanceWindow",
        "suss",
        [
            param(command, "port", str),
            param(command, "minutes", int),
            param(command, "role", str),
            _sealed(ctx, command, "token"),
        ],
    )
    return {"port": command.params["port"], "closes_at": expires}


def _sealed(ctx: Context, command: Command, name: str) -> str:
    """A secret parameter: sealed for this kiosk and command, never in clear (§8 d, e)."""
    if name not in command.params:
        raise MethodError(f"params.{name}: missing (sealed for the kiosk: fleet send --secret)")
    return ctx.signer.open_sealed(command.params[name], command.cmd_id)


async def usb_close(ctx: Context, command: Command) -> Dict[str, Any]:
    await call(
        ctx.daemon_bus,
        DEVICES_INTERFACE,
        "CloseMaintenanceWindow",
        "sss",
        [param(command, "port", str), param(command, "role", str), _sealed(ctx, command, "token")],
    )
    return {"port": command.params["port"], "closed": True}


async def printer_test(ctx: Context, _command: Command) -> Dict[str, Any]:
    ((job_id, outcome, reason),) = await call(
        ctx.daemon_bus, RECEIPT_INTERFACE, "PrintTest", timeout=60.0
    )
    if outcome != "printed":
        raise MethodError(f"test receipt {job_id} {outcome}: {reason}")
    return {"job_id": job_id, "outcome": outcome}


async def ups_selftest(ctx: Context, _command: Command) -> Dict[str, Any]:
    await call(ctx.daemon_bus, POWER_INTERFACE, "SelfTest")
    return {"self_test": "started"}


#: The self-test may include the UPS's battery test ([selftest] ups_battery_limit).
SELFTEST_TIMEOUT = 300.0


async def selftest_run(ctx: Context, _command: Command) -> Dict[str, Any]:
    """The daily self-test, now (nothing printed, no citizen disturbed); its result."""
    (result,) = await call(ctx.daemon_bus, UPKEEP_INTERFACE, "SelfTest", timeout=SELFTEST_TIMEOUT)
    return dict(json.loads(result))


async def consumables_refill(ctx: Context, command: Command) -> Dict[str, Any]:
    """A new receipt roll (``receipt``) or a refilled A4 tray (``a4``) was put in by the
    hall's staff: its count starts again, as ``govkioskctl consumables refill`` records."""
    name = param(command, "name", str)
    (level,) = await call(ctx.daemon_bus, UPKEEP_INTERFACE, "Refill", "s", [name])
    return dict(json.loads(level))


#: A playlist update downloads its media: the daemon's own limit is [promo] download_timeout
#: per file; this bounds the whole call.
PROMO_UPDATE_TIMEOUT = 3600.0


async def promo_update(ctx: Context, command: Command) -> Dict[str, Any]:
    """A signed promotion manifest (docs/promo.md): the daemon checks its content key."""
    manifest = param(command, "manifest", dict)
    (result,) = await call(
        ctx.daemon_bus,
        PROMO_INTERFACE,
        "Update",
        "s",
        [json.dumps(manifest, ensure_ascii=False)],
        timeout=PROMO_UPDATE_TIMEOUT,
    )
    return dict(plain(result))


async def promo_rollback(ctx: Context, _command: Command) -> Dict[str, Any]:
    (result,) = await call(ctx.daemon_bus, PROMO_INTERFACE, "Rollback")
    return dict(plain(result))


async def update_offer(ctx: Context, command: Command) -> Dict[str, Any]:
    """A signed release (docs/updates.md): the daemon verifies it with its pinned release
    keys, then downloads, waits until idle and hands it to the privileged installer; the
    phases follow as ``evt/update``. ``force``: install within service hours too."""
    release = param(command, "release", dict)
    force = param(command, "force", bool, False)
    (state,) = await call(
        ctx.daemon_bus,
        UPDATES_INTERFACE,
        "Offer",
        "sbs",
        [json.dumps(release, ensure_ascii=False), force, command.cmd_id],
    )
    return dict(json.loads(state))


METHODS: Dict[str, Method] = {
    "status": Method(roles.READ, status),
    "devices": Method(roles.WATCH, devices),
    "stats": Method(roles.READ, stats),
    "screenshot": Method(roles.MAINTAIN, screenshot),
    "ops_log.tail": Method(roles.AUDIT, ops_log_tail),
    "acceptance.report": Method(roles.READ, acceptance_report),
    "ui.restart": Method(roles.MAINTAIN, ui_restart, disruptive=True),
    "daemon.restart": Method(roles.CHANGE, daemon_restart, disruptive=True),
    "reboot": Method(roles.MAINTAIN, reboot, disruptive=True),
    "config.set": Method(roles.CHANGE, config_set, disruptive=True),
    "usb.maintenance.open": Method(roles.MAINTAIN, usb_open),
    "usb.maintenance.close": Method(roles.MAINTAIN, usb_close),
    "printer.test": Method(roles.MAINTAIN, printer_test),
    "ups.selftest": Method(roles.MAINTAIN, ups_selftest),
    "selftest.run": Method(roles.MAINTAIN, selftest_run),
    "consumables.refill": Method(roles.MAINTAIN, consumables_refill),
    "promo.update": Method(roles.MAINTAIN, promo_update),
    "promo.rollback": Method(roles.MAINTAIN, promo_rollback),
    "update.offer": Method(roles.CHANGE, update_offer),
    "items.sync": Method(roles.CHANGE, items.sync),
    "items.apply": Method(roles.CHANGE, items.apply),
    "items.evaluate": Method(roles.CHANGE, items.evaluate),
    "items.develop": Method(roles.CHANGE, items.develop),
    "items.verify": Method(roles.CHANGE, items.verify),
    "items.publish": Method(roles.CHANGE, items.publish),
}


def permissions(name: str) -> Optional[FrozenSet[str]]:
    method = METHODS.get(name)
    return None if method is None else method.roles
