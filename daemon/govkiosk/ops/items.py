"""The item catalogue's lifecycle (§7.1.2) as ops methods, on the catalogue the daemon hands ops.

The command's signed ops role decides whether the caller may change items at all
(``roles.CHANGE``); ``params.role`` is the lifecycle actor the operator acts as
(department, office, developer, tester), which the registry checks for each transition
exactly as it does for ``govkioskctl items``.
"""

from __future__ import annotations

from typing import Any, Dict

from ..items.documents import request_summary
from ..items.lifecycle import Application, Evaluation, Kind, VerificationRecord
from ..items.roles import role_named
from ..items.typed import build_request
from .context import Context
from .envelope import Command
from .params import MethodError, param


async def sync(ctx: Context, command: Command) -> Dict[str, Any]:
    changed = await ctx.host.catalogue.sync_text(
        role_named(param(command, "role", str)),
        param(command, "catalogue", str),
        f"ops {command.cmd_id}",
    )
    return {"changed": list(changed)}


async def apply(ctx: Context, command: Command) -> Dict[str, Any]:
    kind = param(command, "kind", str)
    if kind not in {k.value for k in Kind}:
        raise MethodError(f'params.kind: "{kind}" is not add, change or revoke')
    request = await ctx.host.catalogue.apply(
        role_named(param(command, "role", str)),
        Kind(kind),
        param(command, "code", str),
        build_request(Application, param(command, "application", dict), "application"),
    )
    return request_summary(request)


async def evaluate(ctx: Context, command: Command) -> Dict[str, Any]:
    evaluation = build_request(Evaluation, param(command, "evaluation", dict), "evaluation")
    return request_summary(
        await ctx.host.catalogue.evaluate(
            role_named(param(command, "role", str)), param(command, "code", str), evaluation
        )
    )


async def develop(ctx: Context, command: Command) -> Dict[str, Any]:
    return request_summary(
        await ctx.host.catalogue.develop_from(
            role_named(param(command, "role", str)),
            param(command, "code", str),
            param(command, "catalogue", str),
            f"ops {command.cmd_id}",
        )
    )


async def verify(ctx: Context, command: Command) -> Dict[str, Any]:
    record = build_request(VerificationRecord, param(command, "record", dict), "record")
    return request_summary(
        await ctx.host.catalogue.verify(
            role_named(param(command, "role", str)), param(command, "code", str), record
        )
    )


async def publish(ctx: Context, command: Command) -> Dict[str, Any]:
    return request_summary(
        await ctx.host.catalogue.publish(
            role_named(param(command, "role", str)), param(command, "code", str)
        )
    )
