"""An item's detail: who may use it (conditions), what to bring (materials), the steps.

The citizen reads what is needed before starting, so nobody inserts a card only to
learn at the end that the kiosk cannot help. An item the daemon says this kiosk cannot
run now (``available`` false: a camera or face verification missing) offers no start:
a notice sends the citizen to a service counter instead.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from ..i18n import N_, _, language
from ..model import Item

#: The daemon's step codes in the citizen's words.
STEP_NAMES = {
    "identity": N_("Read your ID card"),
    "face_verify": N_("Face check"),
    "consent": N_("Agree to the query"),
    "capture_materials": N_("Photograph your papers"),
    "query": N_("Query the department"),
    "verify_seal": N_("Check the electronic seal"),
    "preview": N_("Preview"),
    "print_a4": N_("Print the document"),
    "print_receipt": N_("Print the receipt"),
    "done": N_("Take your documents"),
}


#: The detail's three lists, by their ids in ``item.kv``.
LISTS = ("conditions", "materials", "steps")


class ItemScreen(Screen):
    """Opening an item is the kiosk's most frequent tap, and it must be answered within
    100 ms (RAIL, ``bench_ui``). So the screen keeps its lines and only refills their
    text: building them per tap (kv rules, bindings, labels) cost ~7 ms, and the garbage
    it left made the collector's full passes land on taps (60–180 ms spikes).
    """

    item_name = StringProperty("")
    item_code = StringProperty("")
    available = BooleanProperty(True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.item: Optional[Item] = None
        #: Every line each list has had: its children are always the first few of them.
        self._lines: Dict[str, List[Widget]] = {name: [] for name in LISTS}

    def reserve(self, items: Iterable[Item]) -> None:
        """Build the lines the longest of ``items`` needs now, before a tap asks for them."""
        for item in items:
            for language_shown in ("zh_CN", "en"):
                shown = item.shown(language_shown)
                for name, lines in zip(LISTS, (shown.conditions, shown.materials, item.steps)):
                    self._spare(name, len(lines))

    def show_item(self, item: Item) -> None:
        self.item = item
        self.item_name = item.shown(language()).name
        self.item_code = item.code
        self.available = item.available
        self.render()

    def update(self, items: Mapping[str, Item]) -> None:
        """The catalogue was read again: the item shown, as it is now (available or not)."""
        if self.item is not None and self.item.code in items:
            self.show_item(items[self.item.code])

    def render(self, *_args: object) -> None:
        if self.item is None:
            return
        shown = self.item.shown(language())
        self.item_name = shown.name
        self._fill("conditions", _bulleted(shown.conditions))
        self._fill("materials", _bulleted(shown.materials))
        steps = [_(STEP_NAMES[step]) if step in STEP_NAMES else step for step in self.item.steps]
        self._fill("steps", [(f"{number}.", step) for number, step in enumerate(steps, 1)])

    def _spare(self, name: str, count: int) -> List[Widget]:
        lines = self._lines[name]
        while len(lines) < count:
            lines.append(Factory.ListLine())  # a kv class: its properties exist once built
        return lines

    def _fill(self, name: str, entries: List[Tuple[str, str]]) -> None:
        """One line per entry, its bullet or number in a column of its own: Chinese text
        wraps without spaces, and a bullet glued to it would be left alone on a line."""
        entries = entries or [("", _("None"))]
        box, lines = self.ids[name], self._spare(name, len(entries))
        for line, (mark, text) in zip(lines, entries):
            line.mark, line.text = mark, text
        shown = len(box.children)
        for line in lines[len(entries) : shown]:
            box.remove_widget(line)
        for line in lines[shown : len(entries)]:
            box.add_widget(line)


def _bulleted(lines: Sequence[str]) -> List[Tuple[str, str]]:
    return [("·", line) for line in lines]
