"""The items (``cn.govkiosk.Session1.ListItems``) on the home and frequent-items screens.

Read at start, whenever the daemon returns and on ``CatalogueChanged``; "frequent" is
the daemon's ``FrequentItems``: the items most often completed at this kiosk, counted in
its database across restarts, read again after each session.
"""

from __future__ import annotations

from typing import Any, Dict, List

from govkiosk.contract.names import SESSION_INTERFACE

from ..client import DaemonClient
from ..i18n import _, language
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
        #: The codes of the items most completed here, most first (the daemon's count).
        self.frequent: List[str] = []

    def routes(self) -> Routes:
        return {(SESSION_INTERFACE, "CatalogueChanged"): self._on_changed}

    def _on_changed(self, _body: List[Any]) -> None:
        self._tasks.spawn(self.refresh(), "catalogue")

    async def refresh(self) -> None:
        rows = await self._client.read(SESSION_INTERFACE, "ListItems")
        items = [Item.from_dbus(row) for row in (rows[0] if rows else [])]
        self.items = {item.code: item for item in items}
        await self._read_frequent()
        self.render()

    async def refresh_frequent(self) -> None:
        """After a session: only the frequent items' list is built again. Home's tiles
        stay, so a tap on one as the session's count arrives is not lost."""
        await self._read_frequent()
        self._render_frequent()

    async def _read_frequent(self) -> None:
        codes = await self._client.read(SESSION_INTERFACE, "FrequentItems", "u", FREQUENT)
        self.frequent = [str(code) for code in (codes[0] if codes else [])]

    def render(self) -> None:
        items = list(self.items.values())
        home: CatalogueScreen = self._frame.screen("home")
        home.heading = _("Choose an item to start")
        home.empty_text = _(
            "No items can be handled here at the moment. Please ask the staff on site."
        )
        home.show_groups(by_department(items, language()), language())
        self._frame.screen("item").reserve(items)  # its lines built now, not on the tap
        self._frame.screen("item").update(self.items)
        self._frame.screen("attract").show_offers(
            [(item.icon, item.shown(language()).name) for item in items if item.available]
        )
        self._render_frequent()

    def _render_frequent(self) -> None:
        frequent: CatalogueScreen = self._frame.screen("frequent")
        ranked = [self.items[code] for code in self.frequent if code in self.items]
        frequent.heading = _("The items most often handled at this kiosk")
        frequent.empty_text = _("Nothing has been handled here yet. Choose an item on Home.")
        frequent.show_groups([(_("Frequent items"), ranked)] if ranked else [], language())
