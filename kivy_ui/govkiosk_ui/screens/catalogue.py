"""The home screen: the published items grouped by department (公安, 人社 …), and the
quick menu's frequent items, which is the same list cut to the items started most here.
"""

from __future__ import annotations

from typing import List, Tuple

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.utils import escape_markup, get_hex_from_color

from .. import theme
from ..i18n import N_, _
from ..model import Item
from ..widgets.buttons import KioskButton

#: Under an item the catalogue gives no summary for, what the kiosk prints for it.
RESULT_TYPES = {
    "certificate_print": N_("Print a certificate"),
    "elicence_print": N_("Print an electronic licence"),
}
#: Under an item the kiosk cannot run now (a camera or face verification is missing).
UNAVAILABLE = N_("Not available at this kiosk now")


class CatalogueScreen(Screen):
    heading = StringProperty("")
    empty = BooleanProperty(True)
    #: What an empty list says.
    empty_text = StringProperty("")

    def show_groups(self, groups: List[Tuple[str, List[Item]]], language: str) -> None:
        box = self.ids.groups
        box.clear_widgets()
        self.empty = not any(items for _department, items in groups)
        for department, items in groups:
            box.add_widget(Factory.DepartmentHeading(text=department))
            grid = Factory.ItemGrid()
            for item in items:
                grid.add_widget(item_tile(item, language))
            box.add_widget(grid)


class ItemTile(KioskButton):
    icon = StringProperty("generic")


def item_tile(item: Item, language: str) -> KioskButton:
    """The item's name, and under it, smaller and muted, what the citizen gets."""
    shown = item.shown(language)
    if not item.available:
        line = _(UNAVAILABLE)
    else:
        line = shown.summary or _(RESULT_TYPES.get(item.result_type, ""))
    tile = ItemTile(value=item.code, icon=item.icon)
    name = f"[b]{escape_markup(shown.name)}[/b]"
    if line:
        size = round(sp(theme.TEXT_SMALL) * App.get_running_app().text_scale)
        muted = get_hex_from_color(theme.TEXT_MUTED)[1:7]
        name += f"\n[size={size}][color={muted}]{escape_markup(line)}[/color][/size]"
    tile.text = name
    tile.bind(on_release=_open)
    return tile


def _open(tile: KioskButton) -> None:
    App.get_running_app().open_item(tile.value)
