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

from ..i18n import N_, _
from ..model import Item

#: The daemon's step codes in the citizen's words.
STEP_NAMES = {
    "identity": N_("Read your ID card"),
    "face": N_("Face check"),
    "consent": N_("Agree to the query"),
    "query": N_("Query the department"),
    "verify_seal": N_("Check the electronic seal"),
    "preview": N_("Preview"),
    "print_a4": N_("Print the document"),
    "print_receipt": N_("Print the receipt"),
    "done": N_("Take your documents"),
}


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
        _fill(self.ids.conditions, self.item.conditions, numbered=False)
        _fill(self.ids.materials, self.item.materials, numbered=False)
        steps = [_(STEP_NAMES[step]) if step in STEP_NAMES else step for step in self.item.steps]
        _fill(self.ids.steps, steps, numbered=True)


def _fill(box: Widget, lines: Sequence[str], *, numbered: bool) -> None:
    """One line per entry, its bullet or number in a column of its own: Chinese text
    wraps without spaces, and a bullet glued to it would be left alone on a line."""
    box.clear_widgets()
    if not lines:
        box.add_widget(Factory.BodyText(text=_("None")))
        return
    for number, line in enumerate(lines, 1):
        entry = Factory.ListLine()  # a kv class: its properties exist once it is built
        entry.mark, entry.text = (f"{number}." if numbered else "·"), line
        box.add_widget(entry)
