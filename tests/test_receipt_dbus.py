"""``cn.govkiosk.Receipt1`` on a private bus, with a driver and the simulator behind it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import List

import pytest
from dbus_next.errors import DBusError

from govkiosk.api.receipt import ReceiptInterface
from govkiosk.bus import AdminAction, EventBus
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, OBJECT_PATH, RECEIPT_INTERFACE
from govkiosk.dbus.service import DBusService
from govkiosk.devices.receipt.driver import ReceiptPrinter
from govkiosk.devices.receipt.settings import ReceiptSettings
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.spec import DeviceSpec
from harness.dbus import PrivateBus

SETTINGS = ReceiptSettings(
    status_timeout=0.3, job_timeout=3.0, poll_interval=0.05, idle_poll_interval=0.05
)


async def test_print_test_state_and_outcome_signal(private_bus: PrivateBus) -> None:
    bus = EventBus()
    service = DBusService(private_bus.address)
    interface = ReceiptInterface(
        bus, "hl-hrb-0042", lambda: SETTINGS, clock=lambda: datetime(2026, 11, 27, 10, 0)
    )
    service.export(interface)
    await service.start()
    printer = SimPrinter()
    pty = serve_pty(SimConnection(printer))
    driver = ReceiptPrinter(
        DeviceSpec("receipt_printer@sim", "receipt_printer", pty.path), bus, lambda: SETTINGS
    )
    client = await connect(private_bus.address)
    serving = None
    try:
        proxy = client.get_proxy_object(
            BUS_NAME, OBJECT_PATH, await client.introspect(BUS_NAME, OBJECT_PATH)
        )
        receipt = proxy.get_interface(RECEIPT_INTERFACE)
        finished: asyncio.Queue[List[str]] = asyncio.Queue()
        actions: List[AdminAction] = []
        bus.subscribe(AdminAction, actions.append)
        receipt.on_job_finished(lambda d, j, o, r: finished.put_nowait([d, j, o, r]))

        with pytest.raises(DBusError, match="no receipt printer can print"):
            await receipt.call_print_test()

        await driver.start()
        serving = asyncio.ensure_future(driver.serve())
        assert await receipt.call_get_printers() == [["receipt_printer@sim", "ready", ""]]

        job_id, outcome, reason = await receipt.call_print_test()
        assert (outcome, reason) == ("printed", "")
        # A printer test from the maintenance screen is an administrative action (§8 e).
        assert actions == [
            AdminAction(
                "maintenance",
                "printer_test",
                {"device": "receipt_printer@sim", "outcome": "printed", "reason": ""},
            )
        ]
        assert await asyncio.wait_for(finished.get(), 3) == [
            "receipt_printer@sim",
            job_id,
            "printed",
            "",
        ]
        lines = printer.receipts[0].lines
        assert lines[0] == "打印测试"
        assert "终端编号：hl-hrb-0042" in lines
        assert "时间：2026-11-27 10:00:00" in lines
        assert "123456789012345678901234567890123456789012345678" in lines  # 48-char ruler
        assert printer.receipts[0].qr_codes == ["govkiosk:printtest:hl-hrb-0042"]

        printer.set_cover_open(True)
        for _ in range(100):  # until the idle poll notices
            if (await receipt.call_get_printers())[0][1] == "cover_open":
                break
            await asyncio.sleep(0.02)
        with pytest.raises(DBusError, match="cover_open"):
            await receipt.call_print_test()
    finally:
        if serving is not None:
            serving.cancel()
            await asyncio.wait([serving])
        await driver.stop()
        pty.close()
        interface.close()
        await close(client)
        await service.stop()
