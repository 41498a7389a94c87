"""The kiosk's button: a visible pressed state, sized by importance.

``primary`` marks the main action of a screen (≥ 60 dp, filled); the rest are
secondary (≥ 44 dp, outlined). Colours come from ``bg_colour``/``color`` so the
accessibility checks can compute the contrast of every button's text.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.button import Button

from .. import theme


class KioskButton(Button):
    primary = BooleanProperty(False)
    bg_colour = ListProperty(theme.SURFACE)
    #: What the citizen's choice sends to the daemon (a session choice, an item code).
    value = StringProperty("")
