"""``cn.govkiosk.Ops1``: the kiosk's network and its link to the site's ops broker.

The UI's status bar shows both (§7.3); staff read them at the kiosk when it stops
answering remotely. ``Link`` is the state of the MQTT connection
(:class:`~govkiosk.ops.link.LinkState`: ``disabled`` without ``[ops] host``,
``connecting``, ``connected``, ``waiting`` to reconnect); ``Network`` is ``online``,
``local``, ``offline`` (:mod:`govkiosk.ops.network`) or ``unknown`` before the first
reading. Each change is a signal and a ``PropertiesChanged``.
"""

from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, signal

from ..bus import EventBus
from ..ops.link import OpsLinkChanged
from ..ops.network import UNKNOWN, NetworkChanged

OPS_INTERFACE = "cn.govkiosk.Ops1"


class OpsInterface(ServiceInterface):
    def __init__(self, bus: EventBus, link: str) -> None:
        super().__init__(OPS_INTERFACE)
        self._link = link
        self._network = UNKNOWN
        self._unsubscribers = [
            bus.subscribe(OpsLinkChanged, self._on_link),
            bus.subscribe(NetworkChanged, self._on_network),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    def _on_link(self, event: OpsLinkChanged) -> None:
        if event.state != self._link:
            self._link = event.state
            self.emit_properties_changed({"Link": event.state})
            self.LinkChanged(event.state)

    def _on_network(self, event: NetworkChanged) -> None:
        if event.state != self._network:
            self._network = event.state
            self.emit_properties_changed({"Network": event.state})
            self.NetworkChanged(event.state)

    @dbus_property(access=PropertyAccess.READ)
    def Link(self) -> "s":
        return self._link

    @dbus_property(access=PropertyAccess.READ)
    def Network(self) -> "s":
        return self._network

    @signal()
    def LinkChanged(self, state: str) -> "s":
        return state

    @signal()
    def NetworkChanged(self, state: str) -> "s":
        return state
