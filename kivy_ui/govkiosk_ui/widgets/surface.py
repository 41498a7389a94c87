"""Widgets that paint their own background, named ``bg_colour`` in one place.

The accessibility checks find the colour behind any text by walking up to the
nearest widget with a ``bg_colour``: every painted background is declared this way.
"""

from __future__ import annotations

from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from .. import theme


class Surface(BoxLayout):
    bg_colour = ListProperty(theme.SURFACE)


class Mark(Label):
    """A symbol (√ ! × ?) on a filled circle: the shape and sign repeat what the colour says."""

    bg_colour = ListProperty(theme.SURFACE)


class Banner(Surface):
    """A notice across the screen: a mark and words in ``ink`` on ``bg_colour``, an ``edge``
    line below (amber for a warning, blue for a word to the citizen)."""

    text = StringProperty("")
    mark = StringProperty("!")
    ink = ListProperty(theme.WARN_TEXT)
    edge = ListProperty(theme.WARN)
    bg_colour = ListProperty(theme.WARN_SOFT)
