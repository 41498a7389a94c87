"""``cn.govkiosk.Items1``: the item lifecycle (§7.1.2) for integrators and ops.

``govkioskctl items`` drives it. Each transition names the caller's role; the daemon
checks it against the lifecycle's role table (``items/roles.py``). Who may call this
interface at all is the bus policy's business (on the system bus: root and the
integrators' group only). Citizens never see this interface: the session's
``ListItems``/``GetItem`` show published items only.

Errors are named after their class: ``cn.govkiosk.Error.WrongRole``,
``InvalidTransition``, ``UnknownItem``, ``InvalidRequest``, ``CatalogueFile``.
"""

import json
from typing import Dict, Optional

from dbus_next import Variant
from dbus_next.service import ServiceInterface, method

from ..contract.connection import plain
from ..contract.names import ITEMS_INTERFACE
from ..dbus import guarded
from ..items.catalogue import Item, item_document
from ..items.documents import detail_json, request_document, request_summary
from ..items.errors import InvalidRequestError, UnknownItemError
from ..items.lifecycle import Application, ChangeRequest, Evaluation, Kind, VerificationRecord
from ..items.loader import LedgerLoader
from ..items.registry import ItemRegistry
from ..items.roles import role_named
from ..items.typed import build_request
from ..runtime import Runtime

_SUMMARY_SIGNATURES = {"id": "u", "code": "s", "kind": "s", "state": "s", "version": "u"}


def _summary(request: ChangeRequest) -> Dict[str, Variant]:
    return {k: Variant(_SUMMARY_SIGNATURES[k], v) for k, v in request_summary(request).items()}


def _row(code: str, item: Optional[Item], request: Optional[ChangeRequest]) -> Dict[str, Variant]:
    name = item.name if item is not None else request.application.name if request else ""
    row = {
        "code": Variant("s", code),
        "name": Variant("s", name),
        "version": Variant("u", item.version if item is not None else 0),
        "published": Variant("b", item is not None),
    }
    if request is not None:
        row.update({f"request_{k}": v for k, v in _summary(request).items()})
    return row


def _kind(name: str) -> Kind:
    try:
        return Kind(name)
    except ValueError:
        raise InvalidRequestError(f'unknown kind "{name}" (add, change or revoke)') from None


class ItemsInterface(ServiceInterface):
    def __init__(self, registry: ItemRegistry) -> None:
        super().__init__(ITEMS_INTERFACE)
        self._registry = registry

    @method()
    @guarded
    async def List(self) -> "aa{sv}":
        """Published items and open change requests, one row per code."""
        published = {item.code: item for item in await self._registry.published()}
        requests = {r.code: r for r in await self._registry.open_requests()}
        codes = [*published, *(c for c in requests if c not in published)]
        return [_row(code, published.get(code), requests.get(code)) for code in codes]

    @method()
    @guarded
    async def Show(self, code: "s") -> "s":
        """``{"published": item or null, "request": open request or null}`` as JSON."""
        request = await self._registry.open_request(code)
        try:
            published: Optional[Item] = await self._registry.get_published(code)
        except UnknownItemError:
            if request is None:
                raise
            published = None
        document = {
            "published": None if published is None else item_document(published),
            "request": None if request is None else request_document(request),
        }
        return json.dumps(document, ensure_ascii=False)

    @method()
    @guarded
    async def History(self, code: "s") -> "aa{sv}":
        """Every transition of the item, oldest first; ``detail`` is JSON."""
        return [
            {
                "at": Variant("d", e.at),
                "action": Variant("s", e.action),
                "role": Variant("s", e.role),
                "request": Variant("u", e.request_id or 0),
                "from": Variant("s", e.from_state),
                "to": Variant("s", e.to_state),
                "version": Variant("u", e.version),
                "detail": Variant("s", detail_json(e)),
            }
            for e in await self._registry.history(code)
        ]

    @method()
    @guarded
    async def Apply(self, role: "s", kind: "s", code: "s", application: "a{sv}") -> "a{sv}":
        """The department applies: ``application`` has reason, plan, function (and name)."""
        request = await self._registry.apply(
            role_named(role),
            _kind(kind),
            code,
            build_request(Application, plain(application), "application"),
        )
        return _summary(request)

    @method()
    @guarded
    async def Evaluate(self, role: "s", code: "s", evaluation: "a{sv}") -> "a{sv}":
        """The managing office: ``evaluation`` has approved (b), necessity, feasibility."""
        request = await self._registry.evaluate(
            role_named(role), code, build_request(Evaluation, plain(evaluation), "evaluation")
        )
        return _summary(request)

    @method()
    @guarded
    async def Develop(self, role: "s", code: "s", catalogue: "s", source: "s") -> "a{sv}":
        """Attach the item's definition: the entry for ``code`` in a catalogue document."""
        request = await self._registry.develop_from(role_named(role), code, catalogue, source)
        return _summary(request)

    @method()
    @guarded
    async def Verify(self, role: "s", code: "s", record: "a{sv}") -> "a{sv}":
        """Attach the test record: run, summary, functional/performance/security verdicts."""
        request = await self._registry.verify(
            role_named(role), code, build_request(VerificationRecord, plain(record), "record")
        )
        return _summary(request)

    @method()
    @guarded
    async def Publish(self, role: "s", code: "s") -> "a{sv}":
        """The department confirms; the verified version replaces the published one."""
        return _summary(await self._registry.publish(role_named(role), code))

    @method()
    @guarded
    async def Sync(self, role: "s", catalogue: "s", source: "s") -> "as":
        """Replace the published list with a catalogue document; the codes that changed."""
        return list(await self._registry.sync_text(role_named(role), catalogue, source))


def install(runtime: Runtime, registry: ItemRegistry) -> None:
    """The ledger read at start (service ``items``) and ``cn.govkiosk.Items1``."""
    runtime.supervisor.add(LedgerLoader(registry))
    runtime.dbus.export(ItemsInterface(registry))
