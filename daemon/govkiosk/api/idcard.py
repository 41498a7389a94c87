"""``cn.govkiosk.IdCard1``: the ID card readers' state and card presence — never identity.

Identity data stays inside the daemon (``IdentityRead`` is a session-only event); what
the citizen must see of it is for the session's own interface to decide. This one
says only whether each reader works and whether a card lies on it, so the UI can
prompt "place your ID card" or "the reader is out of order".
"""

from typing import Dict, List, Tuple

from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from ..bus import EventBus
from ..contract.names import IDCARD_INTERFACE
from ..dbus import guarded
from ..devices.idcard.events import CardPresented, CardRemoved, ReaderState, ReaderStateChanged
from ..runtime import Runtime

ReaderRow = Tuple[str, str, str, bool]  # device, state, detail, card present


class IdCardInterface(ServiceInterface):
    def __init__(self, bus: EventBus) -> None:
        super().__init__(IDCARD_INTERFACE)
        self._readers: Dict[str, ReaderRow] = {}
        self._unsubscribers = [
            bus.subscribe(ReaderStateChanged, self._on_state),
            bus.subscribe(CardPresented, self._on_presented),
            bus.subscribe(CardRemoved, self._on_removed),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    def _row(self, device: str) -> ReaderRow:
        return self._readers.get(device, (device, ReaderState.STARTING.value, "", False))

    def _update(self, row: ReaderRow) -> None:
        self._readers[row[0]] = row
        self.emit_properties_changed({"Readers": self._rows()})

    def _rows(self) -> List[List[object]]:
        return [list(row) for _device, row in sorted(self._readers.items())]

    def _on_state(self, event: ReaderStateChanged) -> None:
        _device, _state, _detail, present = self._row(event.device)
        self._update((event.device, event.state.value, event.detail, present))
        self.ReaderStateChanged(event.device, event.state.value, event.detail)

    def _on_presented(self, event: CardPresented) -> None:
        device, state, detail, _present = self._row(event.device)
        self._update((device, state, detail, True))
        self.CardPresent(device)

    def _on_removed(self, event: CardRemoved) -> None:
        device, state, detail, _present = self._row(event.device)
        self._update((device, state, detail, False))
        self.CardRemoved(device)

    @dbus_property(access=PropertyAccess.READ)
    def Readers(self) -> "a(sssb)":
        return self._rows()

    @method()
    @guarded
    def GetReaders(self) -> "a(sssb)":
        return self._rows()

    @signal()
    def ReaderStateChanged(self, device: str, state: str, detail: str) -> "sss":
        return [device, state, detail]

    @signal()
    def CardPresent(self, device: str) -> "s":
        return device

    @signal()
    def CardRemoved(self, device: str) -> "s":
        return device


def install(runtime: Runtime) -> None:
    """One interface for every reader, exported once: a kiosk with no reader configured
    still answers (with an empty list), so the UI can tell "no reader" from "daemon away"."""
    runtime.dbus.export(IdCardInterface(runtime.bus))
