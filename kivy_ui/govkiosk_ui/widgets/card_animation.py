"""An ID card sliding onto the reader, over and over, while the kiosk waits for it.

Shows what to do without words for those who read slowly; the prompt above says it
in words and the voice says it aloud. The card turns green and shows √ once the reader
reports a card (``cn.govkiosk.IdCard1.CardPresent``).
"""

from __future__ import annotations

from typing import Any, Optional

from kivy.animation import Animation
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.widget import Widget


class CardAnimation(Widget):
    #: 0: the card above the reader, 1: lying on it.
    slide = NumericProperty(0.0)
    card_present = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._animation: Optional[Animation] = None

    def on_parent(self, _widget: Any, parent: Any) -> None:
        if parent is None:
            self.stop()

    def start(self) -> None:
        self.stop()
        self.slide = 0.0
        self._animation = (
            Animation(slide=1.0, duration=1.2, t="out_cubic")
            + Animation(duration=0.8)
            + Animation(slide=0.0, duration=0.01)
            + Animation(duration=0.4)
        )
        self._animation.repeat = True
        self._animation.start(self)

    def stop(self) -> None:
        if self._animation is not None:
            self._animation.cancel(self)
            self._animation = None

    def on_card_present(self, _widget: Any, present: bool) -> None:
        if present:
            self.stop()
            self.slide = 1.0
        else:
            self.start()
