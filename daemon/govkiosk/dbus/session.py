"""``cn.govkiosk.Session1``: the citizen's journey, as ``docs/session-api.md`` describes it.

A thin layer: item lookups go to the published catalogue, everything else to the
:class:`~govkiosk.items.sessions.SessionManager`. Personal data crosses this boundary
only as the masked ``holder`` and the preview page the citizen is looking at.
"""

from typing import Any, Awaitable, Callable, Dict, Sequence

from dbus_next import Variant
from dbus_next.service import ServiceInterface, method, signal

from ..items.catalogue import Item
from ..items.sessions import SessionManager
from . import guarded

SESSION_INTERFACE = "cn.govkiosk.Session1"

Published = Callable[[], Awaitable[Sequence[Item]]]
#: The published item; raises ``UnknownItemError`` for any other code.
Lookup = Callable[[str], Awaitable[Item]]

_SIGNATURES = {bool: "b", float: "d", int: "u", str: "s", list: "as"}


def variants(values: Dict[str, Any]) -> Dict[str, Variant]:
    """Plain values as D-Bus variants: bool b, float d, int u, str s, list of str as."""
    return {key: Variant(_SIGNATURES[type(value)], value) for key, value in values.items()}


def item_row(item: Item) -> Dict[str, Variant]:
    return variants(
        {
            "code": item.code,
            "name": item.name,
            "department": item.department,
            "category": item.category,
            "applicant_type": item.applicant_type,
            "conditions": list(item.conditions),
            "materials": list(item.materials),
            "steps": list(item.steps),
            "result_type": item.result_type,
            "a4_pages": item.printing.a4_pages,
            "receipt": item.printing.receipt,
            "regions": list(item.regions),
            "version": item.version,
        }
    )


class SessionInterface(ServiceInterface):
    def __init__(self, published: Published, lookup: Lookup, manager: SessionManager) -> None:
        super().__init__(SESSION_INTERFACE)
        self._published = published
        self._lookup = lookup
        self.manager = manager

    @method()
    @guarded
    async def ListItems(self) -> "aa{sv}":
        return [item_row(item) for item in await self._published()]

    @method()
    @guarded
    async def GetItem(self, code: "s") -> "a{sv}":
        return item_row(await self._lookup(code))

    @method()
    @guarded
    async def StartSession(self, item_code: "s", language: "s") -> "s":
        return await self.manager.start(await self._lookup(item_code), language)

    @method()
    @guarded
    async def GetSession(self) -> "a{sv}":
        return variants(self.manager.state())

    @method()
    @guarded
    async def Choose(self, session_id: "s", choice: "s") -> "b":
        return await self.manager.choose(session_id, choice)

    @method()
    @guarded
    async def ExtendTime(self, session_id: "s") -> "d":
        return self.manager.extend(session_id)

    @method()
    @guarded
    async def Cancel(self, session_id: "s") -> "b":
        return await self.manager.cancel(session_id)

    @method()
    @guarded
    async def EndSession(self, session_id: "s", reason: "s") -> "b":
        return await self.manager.end(session_id, reason)

    @method()
    @guarded
    async def GetPreview(self, session_id: "s", page: "u") -> "ay":
        return self.manager.preview(session_id, page)

    @signal()
    def SessionChanged(self, state: Dict[str, Variant]) -> "a{sv}":
        return state

    @signal()
    def CatalogueChanged(self) -> None:
        pass

    def session_changed(self, state: Dict[str, Any]) -> None:
        self.SessionChanged(variants(state))
