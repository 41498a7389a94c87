"""``cn.govkiosk.Power1``: the UPS entry, the notice banner and the out-of-service screen.

Whether the kiosk takes new citizens and whether it serves at all are the daemon's
``AcceptingSessions`` and ``InService`` properties, read with ``Stage`` at start and
taken from the ``PropertiesChanged`` the daemon sends with every ``StageChanged``:
the UI keeps no list of which stage means what.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from govkiosk.contract.names import POWER_INTERFACE

from ..client import DaemonClient
from ..i18n import N_, _
from ..signals import PROPERTIES_CHANGED, Routes, changed_properties
from ..status import ups_indicator
from .frame import Frame

_LOGGER = logging.getLogger(__name__)

#: The banner over every screen in these stages (English message ids).
BANNERS = {
    "on_battery": N_("Mains power is off; the kiosk runs on its backup battery."),
    "draining": N_("Backup battery low: no new applications. Please finish now."),
}
#: What a citizen who taps "start" is told while no new session is taken.
NOT_ACCEPTING = BANNERS["draining"]


class PowerController:
    def __init__(self, frame: Frame, client: DaemonClient) -> None:
        self._frame = frame
        self._client = client
        self.stage = "normal"
        self.accepting_sessions = True
        self.in_service = True
        self.ups: Dict[str, Any] = {}
        #: Signals taken so far, by kind: a reply read while one arrived is older than it.
        self._stage_signals = 0
        self._ups_signals = 0

    def routes(self) -> Routes:
        return {
            (POWER_INTERFACE, PROPERTIES_CHANGED): self._on_properties,
            (POWER_INTERFACE, "StageChanged"): self._on_stage,
            (POWER_INTERFACE, "StateChanged"): self._on_ups,
        }

    async def refresh(self) -> None:
        """Read the stage, its consequences and the UPS afresh (shown by :meth:`show`)."""
        seen = self._stage_signals
        values = await self._client.read_properties(POWER_INTERFACE)
        if seen == self._stage_signals:
            self.stage, self.accepting_sessions, self.in_service = "normal", True, True
            self._take(values)
        seen = self._ups_signals
        ups = await self._client.read(POWER_INTERFACE, "GetState")
        if seen == self._ups_signals:
            self.ups = dict(ups[0]) if ups else {}

    def _take(self, values: Dict[str, Any]) -> None:
        if "Stage" in values:
            self.stage = str(values["Stage"])
        if "AcceptingSessions" in values:
            self.accepting_sessions = bool(values["AcceptingSessions"])
        if "InService" in values:
            self.in_service = bool(values["InService"])

    def _on_properties(self, body: List[Any]) -> None:
        self._stage_signals += 1
        self._take(changed_properties(body))
        self.show()

    def _on_stage(self, body: List[Any]) -> None:
        # The daemon sends the stage's properties (PropertiesChanged) just before this.
        self._stage_signals += 1
        self.stage = str(body[0])
        self.show()

    def _on_ups(self, body: List[Any]) -> None:
        self._ups_signals += 1
        self.ups = dict(body[0])
        self.show()

    def show(self) -> None:
        frame = self._frame
        frame.indicate("ups", ups_indicator(self.stage, self.accepting_sessions, self.ups))
        banner = BANNERS.get(self.stage, "")
        frame.set_banner(_(banner) if banner else "")
        if not self.in_service:
            frame.end_session()
            if not frame.current.startswith("maintenance"):
                frame.screen("out_of_service").reason = N_("The power supply has failed.")
                frame.show_screen("out_of_service")
        elif frame.current == "out_of_service":
            frame.show_home()
