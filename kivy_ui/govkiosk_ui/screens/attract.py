"""The attract screen: shown while nobody uses the kiosk; a touch or a person arriving wakes it.

It says what the kiosk can do (the first items of its catalogue, with their icons) and
invites a touch. A slow pulse draws the eye from across the hall without flashing (no
more than three flashes a second, WCAG 2.3.1: this is a fade over two seconds).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

from kivy.animation import Animation
from kivy.app import App
from kivy.factory import Factory
from kivy.properties import NumericProperty
from kivy.uix.screenmanager import Screen

#: How many of the kiosk's items the attract screen names.
OFFERS = 4


class AttractScreen(Screen):
    pulse = NumericProperty(0.0)

    def show_offers(self, offers: Sequence[Tuple[str, str]]) -> None:
        """What the kiosk can do: (icon, name) of its first items."""
        box = self.ids.offers
        box.clear_widgets()
        for icon, name in offers[:OFFERS]:
            offer = Factory.AttractItem()  # a kv class: its properties exist once built
            offer.icon, offer.text = icon, name
            box.add_widget(offer)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._animation: Optional[Animation] = None

    def on_enter(self, *_args: Any) -> None:
        self._animation = Animation(pulse=1.0, duration=1.0) + Animation(pulse=0.0, duration=1.0)
        self._animation.repeat = True
        self._animation.start(self)

    def on_leave(self, *_args: Any) -> None:
        if self._animation is not None:
            self._animation.cancel(self)
            self._animation = None

    def on_touch_down(self, touch: Any) -> bool:
        App.get_running_app().wake()
        return True
