"""The operator's screens: a PIN keypad, then device health, printer test, UPS and alarms.

The PIN goes to ``cn.govkiosk.Maintenance1.Login`` and is checked by the daemon; the
UI keeps only the token it returns, and forgets it on logout, expiry or going home.
Nothing shown here is personal: device states, the UPS reading and alarms.

:class:`PinChangeDialog` changes the PIN (§8 f) on the same keypad: the current PIN and
the new one twice, shown as dots only. Opened by an expired PIN at login or by the
maintenance screen's button; the daemon checks and keeps the PIN (``ChangePin``).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, Dict, List, Tuple

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, ObjectProperty, OptionProperty, StringProperty
from kivy.uix.gridlayout import GridLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from ..i18n import N_, _, on_language_change
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


def dots(pin: str) -> str:
    """A PIN as it is shown: one dot a digit, never the digit."""
    return "●" * len(pin)


class PinPad(GridLayout):
    """The PIN keypad (digits, delete, OK): each key goes to ``target.press``."""

    target = ObjectProperty(None, allownone=True)
    #: The OK key's words; empty: "OK".
    ok_text = StringProperty("")

    def press(self, key: str) -> None:
        if self.target is not None:
            self.target.press(key)


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
    #: When the PIN expires, once it is soon (``PinStatus``, ``PinWarnDays``), or that it
    #: was just changed; empty: nothing to say.
    pin_text = StringProperty("")
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
                # xgettext: no-python-format
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: What ``pin_text`` says: "" (nothing), "soon" (in ``days``), "expired", "changed";
        #: kept to say it again in another language.
        self._pin: Tuple[str, int] = ("", 0)
        on_language_change(lambda _language: self._render_pin())

    def show_pin(self, expires: bool, days_left: int, warn_days: int) -> None:
        """维护密码将于 N 天后过期, from ``warn_days`` before; nothing before that."""
        if not expires or days_left > warn_days:
            self._pin = ("", 0)
        else:
            self._pin = ("soon", days_left) if days_left > 0 else ("expired", 0)
        self._render_pin()

    def pin_changed(self) -> None:
        self._pin = ("changed", 0)
        self._render_pin()

    def clear_pin(self) -> None:
        """The operator left: nothing of their login is said to the next one."""
        self._pin = ("", 0)
        self._render_pin()

    def _render_pin(self) -> None:
        what, days = self._pin
        if what == "changed":
            self.pin_text = _("The maintenance PIN has been changed")
        elif what == "expired":
            self.pin_text = _("The maintenance PIN has expired: change it now")
        elif what == "soon" and days == 1:
            self.pin_text = _("The maintenance PIN expires in 1 day")
        elif what == "soon":
            self.pin_text = _("The maintenance PIN expires in {days} days").format(days=days)
        else:
            self.pin_text = ""

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


#: The change dialog's fields, in the order the keypad's OK goes through them.
FIELDS = ("current", "new", "repeat")
#: What each field asks for, when it is empty and OK is pressed.
EMPTY = {
    "current": N_("Enter the current PIN"),
    "new": N_("Enter the new PIN"),
    "repeat": N_("Enter the new PIN again"),
}


class PinChangeDialog(ModalView):
    """修改维护密码: the current PIN, the new one twice, on the login's keypad.

    Two different new PINs are refused here, before the daemon is asked; the rest (the
    current PIN, the new one's form, reuse, the lockout) is the daemon's to decide, and
    :meth:`refused` shows its answer. The digits stay in the three properties only until
    the dialog closes; they are shown as dots.
    """

    current = StringProperty("")
    new = StringProperty("")
    repeat = StringProperty("")
    #: The field the keypad types into.
    field = OptionProperty("current", options=FIELDS)
    #: Why the dialog is shown (an expired PIN), or how to fill it in.
    reason = StringProperty("")
    #: Why the last attempt failed, in words; empty: none.
    problem = StringProperty("")
    #: The daemon is being asked: the keypad waits.
    busy = BooleanProperty(False)

    def start(self, reason: str, current: str = "") -> None:
        """Empty fields (the current PIN given when the login just proved it), then open."""
        self.current, self.new, self.repeat = current, "", ""
        self.field = "new" if current else "current"
        self.reason, self.problem, self.busy = reason, "", False
        if self.parent is None:
            self.open(animation=False)

    def close(self) -> None:
        """Forget every digit and close."""
        self.current, self.new, self.repeat = "", "", ""
        self.problem, self.busy = "", False
        if self.parent is not None:
            self.dismiss(animation=False)

    def select(self, field: str) -> None:
        if not self.busy:
            self.field = field

    def press(self, key: str) -> None:
        if self.busy:
            return
        value = getattr(self, self.field)
        if key == "delete":
            setattr(self, self.field, value[:-1])
        elif key == "ok":
            self._next()
        elif len(value) < PIN_MAX:
            setattr(self, self.field, value + key)

    def _next(self) -> None:
        """OK: the next field, or the change once all three are there. The last problem
        stays in sight while the fields are typed again, until this OK."""
        self.problem = ""
        empty = next((f for f in FIELDS if not getattr(self, f)), None)
        if self.field != "repeat" and getattr(self, self.field):
            self.field = FIELDS[FIELDS.index(self.field) + 1]
            return
        if empty is not None:
            self.field = empty
            self.problem = _(EMPTY[empty])
            return
        if self.new != self.repeat:
            self.refused(_("The two new PINs differ"), "new")
            return
        self.busy = True
        self.problem = ""
        App.get_running_app().maintenance.change_pin(self.current, self.new)

    def refused(self, problem: str, field: str) -> None:
        """The change did not happen: say why, and empty ``field`` (and what follows it)."""
        self.busy = False
        self.problem = problem
        for name in FIELDS[FIELDS.index(field) :]:
            setattr(self, name, "")
        self.field = field
