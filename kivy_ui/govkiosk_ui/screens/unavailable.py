"""Shown whenever the daemon (or the bus) is away; the UI leaves it by itself on recovery."""

from __future__ import annotations

from kivy.properties import BooleanProperty
from kivy.uix.screenmanager import Screen


class UnavailableScreen(Screen):
    #: True until the first answer: "connecting" rather than "unavailable" at boot.
    connecting = BooleanProperty(True)
