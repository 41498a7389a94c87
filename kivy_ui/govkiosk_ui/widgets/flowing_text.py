"""A label whose lines break by Chinese rules (``textflow.break_lines``), not Kivy's.

Kivy wraps at spaces and, for Chinese, wherever a line is full: a closing "，" can start
a line, "16" can end one while "周岁" starts the next, "件" can sit alone. ``FlowingText``
is a ``Label`` that breaks ``text`` itself, measured by its own core label (the font,
size, weight, hinting and kerning it draws with, ``get_extents``), and hands Kivy lines
that already fit, so Kivy's own wrapping has nothing left to do.

Used like ``BodyText``: ``text``, ``text_size: self.width, None``, ``halign``, and the
height follows the text (``kv/flowing_text.kv``). It wraps at ``text_size``'s width less
the horizontal padding; with no width set it only keeps the explicit newlines.
``lines`` holds the lines shown. Markup is not supported (the lines would be broken
inside tags). Each label keeps its breaks by (width, font) for its current text only,
so a layout pass that sets a width again costs a dictionary look-up, and no text outlives
the label's own (a citizen's name is forgotten with the screen that showed it).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from kivy.properties import ListProperty
from kivy.uix.label import Label

from ..textflow import break_lines

#: The label's properties that change how wide a piece of text is drawn.
FONT = (
    "font_size",
    "font_name",
    "font_family",
    "font_context",
    "font_features",
    "font_hinting",
    "font_kerning",
    "bold",
    "italic",
)
#: Changes that can move a line break.
REFLOW = frozenset(("text", "text_size", "padding", *FONT))
#: Breaks kept per label for its current text (widths seen while a layout settles).
CACHED = 8


def flow(text: str, width: Optional[float], measure: Callable[[str], float]) -> Tuple[str, ...]:
    """``text`` broken into lines no wider than ``width`` by ``measure``."""
    if width is None:
        return tuple(text.split("\n"))
    return tuple(break_lines(text, width, measure))


class FlowingText(Label):
    #: The lines shown, as broken (read only).
    lines = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        self._flows: Dict[Tuple[Any, ...], Tuple[str, ...]] = {}
        self._flowed = ""
        super().__init__(**kwargs)

    def _create_label(self) -> None:
        super()._create_label()
        self._reflow()

    def _trigger_texture_update(
        self, name: Optional[str] = None, source: Any = None, value: Any = None
    ) -> None:
        super()._trigger_texture_update(name, source, value)
        if name in REFLOW:
            self._reflow()

    def _reflow(self) -> None:
        core = getattr(self, "_label", None)
        if core is None:
            return
        width = self.text_size[0]
        if width is not None:
            left, _top, right, _bottom = self.padding
            width = max(1.0, float(width) - left - right)
        # Measured by the label's own core label: the very options it draws with.
        key = (width, *(str(getattr(self, name)) for name in FONT))
        if self._flowed != self.text or len(self._flows) > CACHED:
            self._flows.clear()
            self._flowed = self.text
        lines = self._flows.get(key)
        if lines is None:
            lines = self._flows[key] = flow(
                self.text, width, lambda piece: float(core.get_extents(piece)[0])
            )
        if list(lines) != self.lines:
            self.lines = list(lines)
        shown = "\n".join(lines)
        if core.text != shown:
            core.text = shown
            self._trigger_texture()
