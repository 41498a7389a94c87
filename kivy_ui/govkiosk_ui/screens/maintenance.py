"""The operator's screens: a PIN keypad, then device health, printer test, UPS and alarms.

The PIN goes to ``cn.govkiosk.Maintenance1.Login`` and is checked by the daemon; the
UI keeps only the token it returns, and forgets it on logout, expiry or going home.
Nothing shown here is personal: device states, the UPS reading and alarms.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, Dict, List

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from ..i18n import _

_LOGGER = logging.getLogger(__name__)

PIN_MAX = 12


class MaintenanceLoginScreen(Screen):
    entered = StringProperty("")
    problem = StringProperty("")

    def on_pre_enter(self, *_args: Any) -> None:
        self.entered = ""
        self.problem = ""

    def press(self, key: str) -> None:
        if key == "delete":
            self.entered = self.entered[:-1]
        elif key == "ok":
            App.get_running_app().maintenance.login(self.entered)
            self.entered = ""
        elif len(self.entered) < PIN_MAX:
            self.entered += key
            self.problem = ""


class MaintenanceScreen(Screen):
    ups_text = StringProperty("")
    printer_text = StringProperty("")
    test_result = StringProperty("")

    def show_devices(self, services: List[List[Any]], devices: List[Dict[str, str]]) -> None:
        box = self.ids.devices
        box.clear_widgets()
        for name, state, detail, restarts in services:
            line = f"{name}: {state}" + (f" ({detail})" if detail else "")
            if restarts:
                line += "  " + _("restarts {count}").format(count=restarts)
            box.add_widget(Factory.SmallText(text=line))
        for device in devices:
            line = f"{device.get('id', '')} [{device.get('role', '')}]: {device.get('driver', '')}"
            box.add_widget(Factory.SmallText(text=line))

    def show_ups(self, stage: str, ups: Dict[str, Any]) -> None:
        if not ups:
            self.ups_text = _("Stage {stage}; no UPS reading").format(stage=stage or "—")
            return
        parts = [_("Stage {stage}").format(stage=stage)]
        for key in ("status", "charge", "runtime", "load"):
            if key in ups:
                parts.append(f"{key} {ups[key]}")
        self.ups_text = "; ".join(str(p) for p in parts)

    def show_printers(self, printers: List[List[str]]) -> None:
        lines = [f"{d}: {s}" + (f" ({detail})" if detail else "") for d, s, detail in printers]
        self.printer_text = "\n".join(lines) or _("No receipt printer found")

    def show_alarms(self, alarms: List[List[Any]]) -> None:
        box = self.ids.alarms
        box.clear_widgets()
        if not alarms:
            box.add_widget(Factory.SmallText(text=_("No recent alarms")))
        for when, source, code, severity, message in alarms[:20]:
            moment = datetime.datetime.fromtimestamp(float(when)).strftime("%m-%d %H:%M:%S")
            box.add_widget(
                Factory.SmallText(text=f"{moment}  [{severity}] {source}/{code}: {message}")
            )
