"""The home screen: where the citizen journeys will start. For now, who this kiosk is."""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from ..status import DaemonStatus


class HomeScreen(Screen):
    kiosk_name = StringProperty("")

    def show(self, status: DaemonStatus) -> None:
        self.kiosk_name = status.kiosk_name
