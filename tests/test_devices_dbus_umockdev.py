"""The whole daemon under umockdev: simulated USB devices, listed with their roles over
D-Bus and by ``govkioskctl devices``, with a ``DeviceChanged`` signal for each change."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest
from dbus_next.aio import MessageBus

from govkiosk.app import Daemon
from govkiosk.config import load_config
from govkiosk.contract.names import BUS_NAME, DEVICES_INTERFACE, OBJECT_PATH
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.umockdev import KEYBOARD, PRINTER, STORAGE, UsbBed

pytestmark = pytest.mark.umockdev


async def test_devices_over_dbus_and_govkioskctl(tmp_path: Path, private_bus: PrivateBus) -> None:
    bed = UsbBed()
    hub = bed.root_hub()
    bed.device(hub, "1-2", "0416:5011", interfaces=[PRINTER, KEYBOARD])
    rules = tmp_path / "usb.rules"
    rules.write_text("allow receipt_printer via-port 1-2 id 0416:5011 with-interface 07:*:*\n")
    config_file = tmp_path / "govkiosk.toml"
    config_file.write_text(
        f'[kiosk]\nid = "kiosk-e2e"\n\n[devices.usb]\nrules = "{rules}"\n\n'
        '[[devices.static]]\nrole = "pinpad"\nport = "socket://127.0.0.1:9"\n'
    )
    daemon = Daemon(
        config_file, load_config(config_file), tmp_path / "state", bus_address=private_bus.address
    )
    running = asyncio.ensure_future(daemon.run())
    client = await MessageBus(bus_address=private_bus.address).connect()
    try:
        await eventually(lambda: daemon.supervisor.health("dbus")[0].healthy, "on the bus")
        introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
        devices = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection).get_interface(
            DEVICES_INTERFACE
        )
        changes: List[Any] = []
        devices.on_device_changed(lambda action, row: changes.append((action, row["id"].value)))
        stick = bed.device(hub, "1-3", "0781:5567", interfaces=[STORAGE])
        await eventually(lambda: ("added", "sealed@1-3") in changes, "DeviceChanged signal")
        await eventually(lambda: bed.read(stick) == "0", "stick sealed")

        rows = {r["id"].value: r for r in await devices.call_list_devices()}
        assert rows["receipt_printer@1-2"]["role"].value == "receipt_printer"
        assert rows["sealed@1-3"]["state"].value == "sealed"
        assert rows["pinpad@socket://127.0.0.1:9"]["state"].value == "static"

        ctl = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: subprocess.run(
                [
                    str(Path(sys.executable).parent / "govkioskctl"),
                    "--bus",
                    private_bus.address,
                    "devices",
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ),
        )
        assert ctl.returncode == 0, ctl.stderr
        lines = ctl.stdout.splitlines()
        assert lines[0].split() == ["ID", "ROLE", "PORT", "STATE", "DRIVER"]
        printer = next(line for line in lines if line.startswith("receipt_printer@1-2"))
        assert printer.split()[1:4] == [
            "receipt_printer",
            "/dev/govkiosk/receipt_printer",
            "authorized",
        ]
        assert any(line.startswith("sealed@1-3") and "sealed" in line for line in lines)
    finally:
        server_side = daemon.runtime.dbus._bus
        daemon.request_stop()
        assert await asyncio.wait_for(running, 15) == 0
        client.disconnect()
        # dbus-next shuts its sockets down but never closes them (a ResourceWarning); the
        # daemon's side was cancelled with its service, so it is not waited for.
        await client.wait_for_disconnect()
        client._sock.close()
        if server_side is not None:
            server_side._sock.close()
