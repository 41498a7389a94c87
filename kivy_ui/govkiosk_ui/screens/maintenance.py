"""The operator's screens: a PIN keypad, then device health, printer test, UPS and alarms.

The PIN goes to ``cn.govkiosk.Maintenance1.Login`` and is checked by the daemon; the
UI keeps only the token it returns, and forgets it on logout, expiry or going home.
Nothing shown here is personal: device states, the UPS reading and alarms.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, Dict, List, Tuple

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from ..i18n import N_, _
from ..status import Indicator
from ..widgets.status_bar import line

_LOGGER = logging.getLogger(__name__)

PIN_MAX = 12
#: Device roles and daemon services in words; an unknown one is shown as it is named.
NAMES = {
    "idcard": N_("ID card reader"),
    "receipt_printer": N_("Receipt printer"),
    "a4": N_("A4 printer"),
    "presence": N_("Presence sensor"),
    "qrscanner": N_("QR code scanner"),
    "ups": N_("UPS"),
    "face_camera_rgb": N_("Face camera"),
    "face_camera_ir": N_("Face camera (infrared)"),
    "doc_camera": N_("Document camera"),
    "keyboard": N_("Keyboard"),
}
STATES = {
    "running": N_("running"),
    "starting": N_("starting"),
    "failed": N_("failed"),
    "stopped": N_("stopped"),
    "none": N_("no driver"),
    "ready": N_("ready"),
    "paper_low": N_("paper low"),
    "paper_out": N_("paper out"),
    "cover_open": N_("cover open"),
    "offline": N_("offline"),
}
#: The power stages of ``cn.govkiosk.Power1``.
STAGES = {
    "normal": N_("on mains power"),
    "on_battery": N_("on battery"),
    "out_of_service": N_("out of service (battery low)"),
    "shutting_down": N_("shutting down"),
}

#: The UPS reading's fields in words.
UPS_READINGS = (
    ("status", N_("Status {value}")),
    ("charge", N_("Battery {value}%")),
    ("runtime", N_("Runtime {value} s")),
    ("load", N_("Load {value}%")),
)


def named(name: str) -> str:
    """A role or service in words; the service of a device (``idcard@…``) by its role."""
    role = name.split("@", 1)[0]
    return _(NAMES[role]) if role in NAMES else name


def state_text(state: str) -> str:
    return _(STATES[state]) if state in STATES else state


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
    status_text = StringProperty("")
    usage_text = StringProperty("")
    ups_text = StringProperty("")
    printer_text = StringProperty("")
    test_result = StringProperty("")

    def show_devices(self, services: List[List[Any]], devices: List[Dict[str, str]]) -> None:
        box = self.ids.devices
        box.clear_widgets()
        for name, state, detail, restarts in services:
            text = f"{named(name)}: {state_text(state)}" + (f" ({detail})" if detail else "")
            if restarts:
                text += "  " + _("restarts {count}").format(count=restarts)
            box.add_widget(Factory.SmallText(text=text))
        for device in devices:
            role, port = device.get("role", ""), device.get("port", "")
            text = f"{named(role)}: {state_text(device.get('driver', ''))}"
            box.add_widget(Factory.SmallText(text=text + (f"  ({port})" if port else "")))

    def show_usage(self, rows: List[List[Any]], names: Dict[str, str]) -> None:
        """``Statistics`` per item: completed sessions, ratings and the share satisfied."""
        lines = []
        for code, sessions, levels, _reasons in rows:
            done = int(sessions.get("done", 0))
            rated = sum(int(n) for n in levels.values())
            satisfied = sum(int(levels.get(level, 0)) for level in ("4", "5"))
            line = _("{item}: {done} done, {rated} rated").format(
                item=names.get(code, code), done=done, rated=rated
            )
            if rated:
                line += _(", {share}% satisfied").format(share=round(100 * satisfied / rated))
            lines.append(line)
        self.usage_text = "\n".join(lines) or _("Nothing handled yet")

    def show_status(self, indicators: List[Tuple[str, Indicator]]) -> None:
        """The status bar's entries in full, the staff's ones included."""
        self.status_text = "\n".join(line(name, indicator) for name, indicator in indicators)

    def show_ups(self, stage: str, ups: Dict[str, Any]) -> None:
        shown = _(STAGES[stage]) if stage in STAGES else (stage or "—")
        if not ups:
            self.ups_text = _("{stage}; no UPS reading").format(stage=shown)
            return
        parts = [shown]
        for key, words in UPS_READINGS:
            if key in ups:
                parts.append(_(words).format(value=ups[key]))
        self.ups_text = "\n".join(parts)

    def show_printers(self, printers: List[List[str]]) -> None:
        lines = [
            f"{named(device)}: {state_text(state)}" + (f" ({detail})" if detail else "")
            for device, state, detail in printers
        ]
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
