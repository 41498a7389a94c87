"""The status bar's daemon-fed entries: devices, network, ops link and paper.

Devices is ``cn.govkiosk.Kiosk1``'s ``Faults`` (the daemon's count of failed services,
drivers among them), or "service unavailable" while the daemon is away; network and
the ops link are ``cn.govkiosk.Ops1``'s properties, "unknown" while it is away; paper
is the worst of ``cn.govkiosk.Receipt1``'s printers.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from govkiosk.contract.names import KIOSK_INTERFACE, OPS_INTERFACE, RECEIPT_INTERFACE

from ..client import DaemonClient
from ..signals import PROPERTIES_CHANGED, Routes, changed_properties
from ..status import (
    Indicator,
    devices_indicator,
    link_indicator,
    network_indicator,
    paper_indicator,
)
from .frame import Frame

#: Status-bar entries read from ``cn.govkiosk.Ops1``'s properties.
OPS_ENTRIES: Tuple[Tuple[str, str, Callable[[str], Indicator]], ...] = (
    ("network", "Network", network_indicator),
    ("ops", "Link", link_indicator),
)


class IndicatorsController:
    def __init__(self, frame: Frame, client: DaemonClient) -> None:
        self._frame = frame
        self._client = client
        self.available = False
        self.faults = 0
        #: ``Receipt1.GetPrinters`` rows (device, state, detail) by device.
        self.printers: Dict[str, List[str]] = {}

    def routes(self) -> Routes:
        return {
            (KIOSK_INTERFACE, PROPERTIES_CHANGED): self._on_kiosk_properties,
            (RECEIPT_INTERFACE, "StateChanged"): self._on_printer,
            (OPS_INTERFACE, "NetworkChanged"): self._on_network,
            (OPS_INTERFACE, "LinkChanged"): self._on_link,
        }

    def show_daemon(self, available: bool) -> None:
        """The daemon came or went: what it said no longer holds while it is away."""
        self.available = available
        self._show_devices()
        if not available:
            self._frame.indicate("network", network_indicator(""))
            self._frame.indicate("ops", link_indicator(""))

    async def refresh(self) -> None:
        printers = await self._client.read(RECEIPT_INTERFACE, "GetPrinters")
        self.printers = {row[0]: list(row) for row in (printers[0] if printers else [])}
        ops = await self._client.read_properties(OPS_INTERFACE)
        for entry, name, indicator in OPS_ENTRIES:
            self._frame.indicate(entry, indicator(str(ops.get(name, ""))))
        faults = await self._client.read_properties(KIOSK_INTERFACE)
        self.faults = int(faults.get("Faults", 0))
        self._show_devices()
        self.show_paper()

    def _show_devices(self) -> None:
        self._frame.indicate("devices", devices_indicator(self.available, self.faults))

    def show_paper(self) -> None:
        rows = [(r[0], r[1], r[2]) for r in self.printers.values()]
        self._frame.indicate("paper", paper_indicator(rows))

    def _on_kiosk_properties(self, body: List[Any]) -> None:
        changed = changed_properties(body)
        if "Faults" in changed:
            self.faults = int(changed["Faults"])
            self._show_devices()

    def _on_printer(self, body: List[Any]) -> None:
        self.printers[str(body[0])] = [str(value) for value in body]
        self.show_paper()

    def _on_network(self, body: List[Any]) -> None:
        self._frame.indicate("network", network_indicator(str(body[0])))

    def _on_link(self, body: List[Any]) -> None:
        self._frame.indicate("ops", link_indicator(str(body[0])))
