"""The items (``cn.govkiosk.Session1.ListItems``) on the home and frequent-items screens.

Read at start, whenever the daemon returns and on ``CatalogueChanged``; "frequent" ranks
the items by how often a session was started for them at this kiosk since the UI started.
"""

from __future__ import annotations

import collections
from typing import Any, Dict, List

from govkiosk.contract.names import SESSION_INTERFACE

from ..client import DaemonClient
from ..i18n import _
from ..model import Item, by_department
from ..screens.catalogue import CatalogueScreen
from ..signals import Routes
from ..tasks import Tasks
from .frame import Frame

#: How many items the quick menu's "frequent items" lists.
FREQUENT = 4


class CatalogueController:
    def __init__(self, frame: Frame, client: DaemonClient, tasks: Tasks) -> None:
        self._frame = frame
        self._client = client
        self._tasks = tasks
        self.items: Dict[str, Item] = {}
        self.started: collections.Counter[str] = collections.Counter()

    def routes(self) -> Routes:
        return {(SESSION_INTERFACE, "CatalogueChanged"): self._on_changed}

    def _on_changed(self, _body: List[Any]) -> None:
        self._tasks.spawn(self.refresh(), "catalogue")

    async def refresh(self) -> None:
        rows = await self._client.read(SESSION_INTERFACE, "ListItems")
        items = [Item.from_dbus(row) for row in (rows[0] if rows else [])]
        self.items = {item.code: item for item in items}
        self.render()

    def render(self) -> None:
        items = list(self.items.values())
        home: CatalogueScreen = self._frame.screen("home")
        home.heading = _("Choose an item to start")
        home.show_groups(by_department(items))
        self._frame.screen("item").reserve(items)  # its lines built now, not on the tap
        self._frame.screen("item").update(self.items)
        frequent: CatalogueScreen = self._frame.screen("frequent")
        order = {item.code: index for index, item in enumerate(items)}
        ranked = sorted(items, key=lambda i: (-self.started[i.code], order[i.code]))[:FREQUENT]
        frequent.heading = _("The items most often handled at this kiosk")
        frequent.show_groups([(_("Frequent items"), ranked)] if ranked else [])
