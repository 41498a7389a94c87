"""A scroll view that says when there is more, and never shows a line cut in half plain.

A ``ScrollView`` clips its content at its edges: the last visible line is cut through
its glyphs, and nothing tells the citizen the list goes on. ``HintedScrollView`` covers
the edge where content continues with a fade to the background (``fade_colour``, the
panel's colour) and, at the bottom, a solid band saying ``hint_text`` (向下滑动查看更多):
a line cut by the edge lies under the band or fades out within ``fade_height``, and the
band says why. Its scroll bar stays visible whenever the content overflows.

Snapping the viewport to whole lines was the other way; it fails as soon as the content
mixes line heights (headings, spacing, images) or the citizen scrolls to any position
between two lines, so the edges are covered instead.

``more_above`` / ``more_below`` say whether content continues past an edge (the layout
checks read them as "the cut is hinted").
"""

from __future__ import annotations

from typing import Any

from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.scrollview import ScrollView

from .. import theme

#: Steps of the fade's gradient.
FADE_STEPS = 64
#: A scroll position this close to an end counts as the end (float noise, overscroll).
AT_END = 0.002


def fade_texture() -> Any:
    """White, opaque at the bottom row and transparent at the top (tinted by a Color)."""
    texture = Texture.create(size=(1, FADE_STEPS), colorfmt="rgba")
    rows = bytearray()
    for row in range(FADE_STEPS):
        alpha = int(255 * (1.0 - row / (FADE_STEPS - 1)) ** 0.8)
        rows += bytes((255, 255, 255, alpha))
    texture.blit_buffer(bytes(rows), colorfmt="rgba", bufferfmt="ubyte")
    texture.wrap = "clamp_to_edge"
    return texture


class HintedScrollView(ScrollView):
    #: Content continues above the top edge / below the bottom edge (read only).
    more_above = BooleanProperty(False)
    more_below = BooleanProperty(False)
    #: Said in the bottom band while there is more below.
    hint_text = StringProperty("")
    hint_font_size = NumericProperty(20)
    hint_colour = ListProperty(theme.TEXT_MUTED)
    #: The colour behind the view, which the fade and the band are painted in.
    fade_colour = ListProperty(theme.SURFACE)
    fade_height = NumericProperty(40)
    #: The band's height: at least the hint's text plus a margin.
    hint_height = NumericProperty(32)
    fade = ObjectProperty(None, allownone=True)
    hint_texture = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fade = fade_texture()
        for name in ("scroll_y", "height", "viewport_size"):
            self.fbind(name, self._edges)
        for name in ("hint_text", "hint_font_size"):
            self.fbind(name, self._render_hint)
        self._render_hint()

    def _edges(self, *_args: Any) -> None:
        overflow = self.viewport_size[1] > self.height + 0.5
        self.more_below = overflow and self.scroll_y > AT_END
        self.more_above = overflow and self.scroll_y < 1.0 - AT_END

    def _render_hint(self, *_args: Any) -> None:
        if not self.hint_text:
            self.hint_texture = None
            return
        core = CoreLabel(text=self.hint_text, font_size=self.hint_font_size)
        core.refresh()
        self.hint_texture = core.texture
