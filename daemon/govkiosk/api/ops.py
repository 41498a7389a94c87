"""``cn.govkiosk.Ops1``: the kiosk's network and its link to the site's ops broker.

The UI's status bar shows both (§7.3); staff read them at the kiosk when it stops
answering remotely. ``Link`` is the state of the MQTT connection
(:class:`~govkiosk.ops.link.LinkState`: ``disabled`` without ``[ops] host``,
``connecting``, ``connected``, ``waiting`` to reconnect); ``Network`` is ``online``,
``local``, ``offline`` (:mod:`govkiosk.ops.network`) or ``unknown`` before the first
reading. Each change is a signal and a ``PropertiesChanged``.
"""

import functools
import logging

from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, signal

from .. import reconfigure
from ..bus import EventBus
from ..config import DEFAULT_PATH
from ..contract.names import OPS_INTERFACE
from ..items.registry import ItemRegistry
from ..ops.host import Host
from ..ops.link import LinkState, OpsLinkChanged
from ..ops.network import UNKNOWN, NetworkChanged, NetworkWatch
from ..ops.oplog import AdminRecorder, OpsLog
from ..ops.service import OpsService
from ..ops.view import KioskView
from ..runtime import Runtime


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


_LOGGER = logging.getLogger(__name__)


def install(runtime: Runtime, catalogue: ItemRegistry) -> None:
    """``cn.govkiosk.Ops1`` and the network watch always; the ``ops`` service when
    ``[ops] host`` is set."""
    enabled = runtime.config.ops.enabled
    link = LinkState.CONNECTING if enabled else LinkState.DISABLED
    runtime.dbus.export(OpsInterface(runtime.bus, link.value))
    runtime.supervisor.add(NetworkWatch(runtime.bus))
    oplog = OpsLog(runtime.store)
    runtime.supervisor.add(AdminRecorder(runtime.bus, oplog))
    if not enabled:
        _LOGGER.info("ops: no [ops] host configured: remote operations are off")
        return
    host = Host(
        kiosk_id=runtime.kiosk_id,
        kiosk=lambda: runtime.config.kiosk,
        settings=lambda: runtime.config.ops,
        bus=runtime.bus,
        store=runtime.store,
        supervisor=runtime.supervisor,
        activity=runtime.activity,
        state_dir=runtime.state_dir,
        daemon_bus=runtime.dbus.address,
        catalogue=catalogue,
        config_dir=str((runtime.config_path or DEFAULT_PATH).parent),
        config_hash=lambda: reconfigure.config_hash(runtime),
        apply_config=functools.partial(reconfigure.apply, runtime),
        exit=runtime.exit,
        consumables=lambda: runtime.config.consumables,
    )
    runtime.supervisor.add(OpsService(host, KioskView(host), oplog))
