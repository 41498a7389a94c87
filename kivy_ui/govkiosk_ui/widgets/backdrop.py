"""The frame's background as the window's clear colour, not a rectangle drawn over it.

Kivy clears the window before every frame; a full-screen rectangle on top paints each
pixel a second time, blended. Under Mesa's software rasteriser that one rectangle was a
quarter of a frame's cost (~8 of ~33 ms CPU at 1280×800). So the root's ``bg_colour``
(which the contrast checks read) is the window's clear colour instead. A picture of the
root (``export_as_image``, ``export_to_png``: the ops screenshot, ``--screenshot``) is
drawn off-screen, without the window's clear, so it paints the background in itself.
"""

from __future__ import annotations

from typing import Any, Sequence

from kivy.core.window import Window
from kivy.graphics import Color, InstructionGroup, Rectangle

from .surface import Surface


class Backdrop(Surface):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # the kv rule sets bg_colour
        self.bind(bg_colour=self._clear_colour)
        self._clear_colour(self, self.bg_colour)

    @staticmethod
    def _clear_colour(_widget: Any, colour: Sequence[float]) -> None:
        Window.clearcolor = tuple(colour)

    def export_as_image(self, *args: Any, **kwargs: Any) -> Any:
        backdrop = InstructionGroup()
        backdrop.add(Color(*self.bg_colour))
        backdrop.add(Rectangle(pos=self.pos, size=self.size))
        self.canvas.before.insert(0, backdrop)
        try:
            return super().export_as_image(*args, **kwargs)
        finally:
            self.canvas.before.remove(backdrop)
