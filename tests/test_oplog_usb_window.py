"""Opening and closing a USB maintenance window over ``cn.govkiosk.Devices1`` is an
administrative action (§8 e): it reaches the ops log, chained; a refused one does not."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, List, Mapping, Tuple

import pytest
from dbus_next import DBusError

from govkiosk.api.devices import DevicesInterface
from govkiosk.bus import EventBus
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import DEVICES_INTERFACE, OBJECT_PATH
from govkiosk.errors import GovkioskError
from govkiosk.ops.oplog import AdminRecorder, OpsLog, verify
from govkiosk.store import Store
from govkiosk.timeouts import wait_for
from harness.dbus import PrivateBus


class CountingLog(OpsLog):
    """The real log; ``written`` is set once ``wanted`` records are in."""

    def __init__(self, store: Store, wanted: int) -> None:
        super().__init__(store)
        self.wanted = wanted
        self.written = asyncio.Event()

    async def append(self, kind: str, code: str, detail: Mapping[str, Any]) -> str:
        digest = await super().append(kind, code, detail)
        self.wanted -= 1
        if self.wanted == 0:
            self.written.set()
        return digest


async def test_usb_windows_are_recorded(tmp_path: Path, private_bus: PrivateBus) -> None:
    opened: List[Tuple[str, int, str]] = []

    async def open_window(port: str, minutes: int, role: str, token: str) -> float:
        if token != "good":
            raise GovkioskError("wrong token")
        opened.append((port, minutes, role))
        return 1234.5

    async def close_window(port: str, role: str, token: str) -> None:
        opened.remove(next(o for o in opened if o[0] == port))

    events = EventBus()
    store = Store(tmp_path / "state")
    await store.open()
    oplog = CountingLog(store, 2)
    recorder = AdminRecorder(events, oplog)
    await recorder.start()
    serving = asyncio.ensure_future(recorder.serve())
    server = await connect(private_bus.address)
    client = await connect(private_bus.address)
    try:
        server.export(OBJECT_PATH, DevicesInterface(lambda: [], events, open_window, close_window))
        introspection = await client.introspect(server.unique_name, OBJECT_PATH)
        proxy = client.get_proxy_object(server.unique_name, OBJECT_PATH, introspection)
        devices = proxy.get_interface(DEVICES_INTERFACE)
        with pytest.raises(DBusError):
            await devices.call_open_maintenance_window("1-1.4", 10, "engineer", "bad")
        assert await devices.call_open_maintenance_window("1-1.4", 10, "engineer", "good") == 1234.5
        await devices.call_close_maintenance_window("1-1.4", "engineer", "good")
        await wait_for(oplog.written.wait(), 5)
        entries = await oplog.tail(10)
    finally:
        await close(client)
        await close(server)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await store.close()
    assert [(e["kind"], e["code"], e["detail"]) for e in entries] == [
        ("usb_window", "opened", {"port": "1-1.4", "minutes": 10, "role": "engineer"}),
        ("usb_window", "closed", {"port": "1-1.4", "role": "engineer"}),
    ]
    assert verify(tmp_path / "state").ok
