"""What the UI knows about the daemon, as plain frozen values (no Kivy, no D-Bus).

The D-Bus client produces these; the screens only render them, so the client can be
tested without a display and the screens without a daemon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from .i18n import N_
from .model import KioskInfo

RUNNING = "running"


@dataclass(frozen=True)
class ServiceRow:
    """One row of ``GetServices`` / one ``ServiceHealthChanged`` signal."""

    name: str
    state: str
    detail: str
    restarts: int

    @property
    def running(self) -> bool:
        return self.state == RUNNING


@dataclass(frozen=True)
class DaemonStatus:
    """The daemon as last seen.

    ``kiosk_id`` and ``kiosk_name`` are kept from the last successful ``GetInfo`` while
    the daemon is away, so staff can still read which kiosk they stand in front of.
    """

    available: bool
    kiosk_id: str = ""
    kiosk_name: str = ""
    #: The rest of ``GetInfo``: the hall, where the card reader is.
    info: KioskInfo = field(default_factory=KioskInfo)
    services: Tuple[ServiceRow, ...] = ()

    @property
    def running(self) -> int:
        return sum(1 for s in self.services if s.running)

    @property
    def healthy(self) -> bool:
        return self.available and self.running == len(self.services)


#: Indicator levels; each is drawn with its own mark as well as its colour (never colour alone).
OK = "ok"
WARN = "warn"
ALERT = "alert"
UNKNOWN = "unknown"
#: Switched off on purpose (a kiosk without remote operations): neither fine nor a fault.
OFF = "off"


@dataclass(frozen=True)
class Indicator:
    """One status-bar entry: a level and an English message id with its parameters.

    Kept untranslated so that a language switch re-renders it.
    """

    level: str
    msgid: str
    params: Tuple[Tuple[str, object], ...] = ()


NOT_REPORTED = Indicator(UNKNOWN, N_("unknown"))


def ups_indicator(stage: str, accepting_sessions: bool, ups: Dict[str, object]) -> Indicator:
    """``cn.govkiosk.Power1``: its ``Stage``, its ``AcceptingSessions`` and the UPS reading.

    Once the daemon takes no new citizen (battery low), that is what the entry says.
    """
    charge = ups.get("charge")
    params: Tuple[Tuple[str, object], ...] = (
        (("charge", round(float(charge))),) if isinstance(charge, (int, float)) else ()
    )
    if not accepting_sessions:
        return Indicator(ALERT, N_("battery low"), params)
    if stage == "on_battery" or ups.get("on_battery") is True:
        return Indicator(WARN, N_("on battery {charge}%") if params else N_("on battery"), params)
    if not ups or ups.get("stale") is True:
        return NOT_REPORTED
    return Indicator(OK, N_("mains power"))


def paper_indicator(printers: List[Tuple[str, str, str]]) -> Indicator:
    """The receipt printers' paper (``Receipt1.GetPrinters``): the worst one counts."""
    states = {state for _device, state, _detail in printers}
    if not states:
        return NOT_REPORTED
    if "paper_out" in states:
        return Indicator(ALERT, N_("paper out"))
    if states - {"ready", "paper_low"}:
        return Indicator(ALERT, N_("printer fault"))
    if "paper_low" in states:
        return Indicator(WARN, N_("paper low"))
    return Indicator(OK, N_("paper ok"))


def devices_indicator(available: bool, faults: int) -> Indicator:
    """``cn.govkiosk.Kiosk1.Faults``: the daemon's count of failed services and drivers."""
    if not available:
        return Indicator(ALERT, N_("service unavailable"))
    if faults:
        return Indicator(WARN, N_("{count} faults"), (("count", faults),))
    return Indicator(OK, N_("devices ok"))


#: ``cn.govkiosk.Ops1.Network`` (``govkiosk.ops.network``).
NETWORK = {
    "online": Indicator(OK, N_("online")),
    "local": Indicator(WARN, N_("local network only")),
    "offline": Indicator(ALERT, N_("offline")),
}
#: ``cn.govkiosk.Ops1.Link`` (``govkiosk.ops.link.LinkState``).
LINK = {
    "connected": Indicator(OK, N_("connected")),
    "connecting": Indicator(WARN, N_("connecting")),
    "waiting": Indicator(ALERT, N_("not connected")),
    "disabled": Indicator(OFF, N_("off")),
}


def network_indicator(state: str) -> Indicator:
    return NETWORK.get(state, NOT_REPORTED)


def link_indicator(state: str) -> Indicator:
    return LINK.get(state, NOT_REPORTED)
