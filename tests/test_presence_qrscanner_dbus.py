"""``cn.govkiosk.Presence1`` and ``cn.govkiosk.QrScanner1`` on a private bus."""

from __future__ import annotations

import asyncio

from govkiosk.api.presence import PresenceInterface
from govkiosk.api.qrscanner import QrScannerInterface
from govkiosk.bus import EventBus, ServiceHealthChanged
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, OBJECT_PATH, PRESENCE_INTERFACE, QRSCANNER_INTERFACE
from govkiosk.dbus.service import DBusService
from govkiosk.devices.presence.events import PersonArrived, PersonLeft
from harness.dbus import PrivateBus


async def test_presence_flag_signals_and_scanner_state(private_bus: PrivateBus) -> None:
    bus = EventBus()
    service = DBusService(private_bus.address)
    service.export(PresenceInterface(bus))
    service.export(QrScannerInterface(bus))
    await service.start()
    client = await connect(private_bus.address)
    try:
        introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
        proxy = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
        presence = proxy.get_interface(PRESENCE_INTERFACE)
        scanner = proxy.get_interface(QRSCANNER_INTERFACE)
        signals: asyncio.Queue[str] = asyncio.Queue()
        presence.on_person_arrived(lambda: signals.put_nowait("arrived"))
        presence.on_person_left(lambda: signals.put_nowait("left"))

        assert await presence.get_present() is False
        bus.publish(PersonArrived("presence@x"))
        assert await asyncio.wait_for(signals.get(), 3) == "arrived"
        assert await presence.get_present() is True
        bus.publish(PersonLeft("presence@x"))
        assert await asyncio.wait_for(signals.get(), 3) == "left"
        assert await presence.get_present() is False

        assert await scanner.get_state() == "absent"
        bus.publish(ServiceHealthChanged("qrscanner@/dev/ttyS1", "running", "", 0))
        assert await scanner.get_state() == "ready"
        bus.publish(ServiceHealthChanged("qrscanner@/dev/ttyS1", "failed", "gone", 1))
        assert await scanner.get_state() == "failed"
    finally:
        await close(client)
        await service.stop()
