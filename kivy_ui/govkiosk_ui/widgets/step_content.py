"""The middle part of a step screen; ``screen`` is the step screen it shows the state of."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.anchorlayout import AnchorLayout


class StepContent(AnchorLayout):
    screen = ObjectProperty(None, rebind=True)
