"""An item's detail: who may use it (conditions), what to bring (materials), the steps.

The citizen reads what is needed before starting, so nobody inserts a card only to
learn at the end that the kiosk cannot help.
"""

from __future__ import annotations

from typing import Optional, Sequence

from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from ..i18n import _
from ..model import Item


class ItemScreen(Screen):
    item_name = StringProperty("")
    item_code = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.item: Optional[Item] = None

    def show_item(self, item: Item) -> None:
        self.item = item
        self.item_name = item.name
        self.item_code = item.code
        self.render()

    def render(self, *_args: object) -> None:
        if self.item is None:
            return
        _fill(self.ids.conditions, self.item.conditions, "·")
        _fill(self.ids.materials, self.item.materials, "·")
        _fill(self.ids.steps, self.item.steps, "")


def _fill(box: Widget, lines: Sequence[str], mark: str) -> None:
    box.clear_widgets()
    if not lines:
        box.add_widget(Factory.BodyText(text=_("None")))
        return
    for number, line in enumerate(lines, 1):
        prefix = f"{mark} " if mark else f"{number}. "
        box.add_widget(Factory.BodyText(text=prefix + line))
