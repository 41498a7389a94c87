"""``cn.govkiosk.Presence1``: whether somebody stands at the kiosk. Presence only, no identity."""

from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, signal

from ..bus import EventBus
from ..contract.names import PRESENCE_INTERFACE
from ..devices.presence.events import PersonArrived, PersonLeft
from ..runtime import Runtime


class PresenceInterface(ServiceInterface):
    def __init__(self, bus: EventBus) -> None:
        super().__init__(PRESENCE_INTERFACE)
        self._present = False
        self._unsubscribers = [
            bus.subscribe(PersonArrived, self._on_arrived),
            bus.subscribe(PersonLeft, self._on_left),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    def _on_arrived(self, _event: PersonArrived) -> None:
        self._set(True)
        self.PersonArrived()

    def _on_left(self, _event: PersonLeft) -> None:
        self._set(False)
        self.PersonLeft()

    def _set(self, present: bool) -> None:
        if present != self._present:
            self._present = present
            self.emit_properties_changed({"Present": present})

    @dbus_property(access=PropertyAccess.READ)
    def Present(self) -> "b":
        return self._present

    @signal()
    def PersonArrived(self) -> None:
        pass

    @signal()
    def PersonLeft(self) -> None:
        pass


def install(runtime: Runtime) -> None:
    runtime.dbus.export(PresenceInterface(runtime.bus))
