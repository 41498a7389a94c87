"""A grid of buttons of one height: the tallest one's text sets it for all.

Tiles of different heights in one row sit at different levels and read as a mistake;
a grid where every tile is as tall as the tallest (its text plus ``pad``) stays tidy in
both languages and in large-text mode.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty
from kivy.uix.gridlayout import GridLayout


class EvenGrid(GridLayout):
    #: Space above and below the tallest text.
    pad = NumericProperty(28)
    #: The least height of a cell.
    least = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        # Before super(): the kv rules may add children inside it. Runs before the next
        # frame, after the buttons' own rules have sized them.
        self._even = Clock.create_trigger(self._apply)
        super().__init__(**kwargs)

    def add_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        widget.size_hint_y = None
        widget.fbind("texture_size", self._even)
        super().add_widget(widget, *args, **kwargs)
        self._even()

    def remove_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        widget.funbind("texture_size", self._even)
        super().remove_widget(widget, *args, **kwargs)

    def on_least(self, *_args: Any) -> None:
        self._even()

    def _apply(self, *_args: Any) -> None:
        tallest = max((child.texture_size[1] for child in self.children), default=0)
        height = max(self.least, tallest + self.pad)
        for child in self.children:
            child.height = height
