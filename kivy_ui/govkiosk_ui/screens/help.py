"""Help: how to use the kiosk in four short lines, and where to find staff."""

from __future__ import annotations

from kivy.uix.screenmanager import Screen


class HelpScreen(Screen):
    pass
