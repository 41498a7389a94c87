"""``cn.govkiosk.IdCard1`` on a private bus, fed by a real driver and simulator."""

from __future__ import annotations

import asyncio
import random
from typing import Any, List

from govkiosk.api.idcard import IdCardInterface
from govkiosk.bus import EventBus
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, IDCARD_INTERFACE, OBJECT_PATH
from govkiosk.dbus.service import DBusService
from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.driver import IdCardReader
from govkiosk.devices.idcard.settings import IdCardSettings
from govkiosk.devices.idcard.sim import SimulatedReader, SimulatedReaderProtocol
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from harness.dbus import PrivateBus

FAST = IdCardSettings(poll_interval=0.01, sam_check_interval=0.2, exchange_timeout=0.5)


async def test_reader_state_and_card_presence_but_never_identity(private_bus: PrivateBus) -> None:
    bus = EventBus()
    interface = IdCardInterface(bus)
    service = DBusService(private_bus.address)
    service.export(interface)
    await service.start()
    sim = SimulatedReader()
    pty = serve_pty(SimulatedReaderProtocol(sim))
    driver = IdCardReader(DeviceSpec("idcard@sim", "idcard", pty.path), bus, lambda: FAST)
    client = await connect(private_bus.address)
    task = None
    try:
        introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
        idcard = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection).get_interface(
            IDCARD_INTERFACE
        )
        signals: asyncio.Queue[List[Any]] = asyncio.Queue()
        idcard.on_card_present(lambda device: signals.put_nowait(["present", device]))
        idcard.on_card_removed(lambda device: signals.put_nowait(["removed", device]))
        idcard.on_reader_state_changed(
            lambda device, state, detail: signals.put_nowait(["state", device, state, detail])
        )
        assert await idcard.call_get_readers() == []

        await driver.start()
        task = asyncio.ensure_future(driver.serve())
        assert await asyncio.wait_for(signals.get(), 5) == ["state", "idcard@sim", "ok", ""]
        identity = synthetic.resident(random.Random(4))
        sim.place(identity)
        assert await asyncio.wait_for(signals.get(), 5) == ["present", "idcard@sim"]
        assert await idcard.get_readers() == [["idcard@sim", "ok", "", True]]
        sim.remove()
        assert await asyncio.wait_for(signals.get(), 5) == ["removed", "idcard@sim"]
        assert await idcard.call_get_readers() == [["idcard@sim", "ok", "", False]]
        # Nothing the interface says carries the card's content.
        assert identity.id_number not in str(introspection.tostring())
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await driver.stop()
        pty.close()
        interface.close()
        await close(client)
        await service.stop()
