"""The home screen: the published items grouped by department (公安, 人社 …), and the
quick menu's frequent items, which is the same list cut to the items started most here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from kivy.app import App
from kivy.core.text import Label as CoreLabel
from kivy.factory import Factory
from kivy.metrics import sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.utils import escape_markup, get_hex_from_color

from .. import theme
from ..i18n import N_, _
from ..model import Item
from ..textflow import break_lines
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

    def __init__(self, **kwargs: Any) -> None:
        self._shape: Tuple[Any, ...] = ()  # the departments and item codes the tiles show
        self._tiles: Dict[str, ItemTile] = {}
        super().__init__(**kwargs)

    def show_groups(self, groups: List[Tuple[str, List[Item]]], language: str) -> None:
        """Shows ``groups``; when only what the tiles say changed (an item became available
        or not, another language), the tiles are updated in place, so a finger already on
        one still opens it."""
        self.empty = not any(items for _department, items in groups)
        shape = tuple((department, tuple(i.code for i in items)) for department, items in groups)
        if shape == self._shape:
            for _department, items in groups:
                for item in items:
                    self._tiles[item.code].show(item, language)
            return
        box = self.ids.groups
        box.clear_widgets()
        self._shape, self._tiles = shape, {}
        for department, items in groups:
            box.add_widget(Factory.DepartmentHeading(text=department))
            grid = Factory.ItemGrid()
            for item in items:
                tile = self._tiles[item.code] = item_tile(item, language)
                grid.add_widget(tile)
            box.add_widget(grid)


class ItemTile(KioskButton):
    """The item's name, and under it, smaller and muted, what the citizen gets: two sizes
    in one button (kv markup), each broken by the rules of Chinese text for the tile's
    width (``textflow``), as markup leaves Kivy's own wrapping no room to."""

    icon = StringProperty("generic")
    name = StringProperty("")
    line = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self._composed: Tuple[Any, ...] = ()
        super().__init__(**kwargs)

    def on_size(self, *_args: Any) -> None:
        self.compose()  # the grid evens heights too: only a new width breaks lines anew

    def show(self, item: Item, language: str) -> None:
        """What the tile says of ``item``: its name, and what it gives or why it cannot."""
        shown = item.shown(language)
        if not item.available:
            line = _(UNAVAILABLE)
        else:
            line = shown.summary or _(RESULT_TYPES.get(item.result_type, ""))
        self.value, self.icon, self.name, self.line = item.code, item.icon, shown.name, line
        self.compose()

    def compose(self) -> None:
        left, _top, right, _bottom = self.padding
        width = max(1.0, self.width - left - right)
        scale = App.get_running_app().text_scale
        wanted = (width, scale, self.name, self.line, self.font_name)
        if wanted == self._composed:
            return
        self._composed = wanted
        name = broken(self.name, width, sp(theme.TEXT_BUTTON) * scale, self.font_name, bold=True)
        text = f"[b]{escape_markup(name)}[/b]"
        if self.line:
            size = round(sp(theme.TEXT_SMALL) * scale)
            line = broken(self.line, width, size, self.font_name, bold=False)
            muted = get_hex_from_color(theme.TEXT_MUTED)[1:7]
            text += f"\n[size={size}][color={muted}]{escape_markup(line)}[/color][/size]"
        self.text = text


def broken(text: str, width: float, size: float, font: str, *, bold: bool) -> str:
    measure = CoreLabel(font_size=size, font_name=font, bold=bold).get_extents
    return "\n".join(break_lines(text, width, lambda part: float(measure(part)[0])))


def item_tile(item: Item, language: str) -> ItemTile:
    tile = ItemTile()
    tile.show(item, language)
    tile.bind(on_release=_open)
    return tile


def _open(tile: KioskButton) -> None:
    App.get_running_app().open_item(tile.value)
