"""A umockdev test bed with a USB bus: fake sysfs, real libudev events.

Only a process started under ``umockdev-wrapper`` sees it (``make test-umockdev``).
umockdev delivers events over a Unix datagram socket, whose queue holds only
``net.unix.max_dgram_qlen`` (10) events, and aborts the process when it is full: a test
lets the loop read (``await asyncio.sleep(0)``) after each device it plugs. The kernel's
netlink socket has no such limit (the daemon asks for a 1 MiB buffer).

Devices are added already authorised, as if plugged in before the daemon sealed
the bus (the boot window): what the daemon writes to ``authorized`` is what the test
reads back from the bed's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

Interface = Tuple[int, int, int]
PRINTER: Interface = (0x07, 0x01, 0x02)
KEYBOARD: Interface = (0x03, 0x01, 0x01)
STORAGE: Interface = (0x08, 0x06, 0x50)
HUB: Interface = (0x09, 0x00, 0x00)


class UsbBed:
    def __init__(self) -> None:
        self.testbed = UMockdev.Testbed.new()
        self.sys_dir = Path(self.testbed.get_sys_dir())

    def root_hub(self, bus: int = 1) -> str:
        return str(
            self.testbed.add_device(
                "usb",
                f"usb{bus}",
                None,
                [
                    "authorized_default",
                    "1",
                    "interface_authorized_default",
                    "1",
                    "authorized",
                    "1",
                    "idVendor",
                    "1d6b",
                    "idProduct",
                    "0002",
                    "bDeviceClass",
                    "09",
                ],
                ["DEVTYPE", "usb_device"],
            )
        )

    def device(
        self,
        parent: str,
        port: str,
        usb_id: str,
        *,
        interfaces: Sequence[Interface] = (PRINTER,),
        serial: str = "",
        device_class: int = 0,
    ) -> str:
        """Plug a device into ``port`` (``1-2.1``) below ``parent``; return its sysfs path."""
        vendor, product = usb_id.split(":")
        attrs = [
            "idVendor",
            vendor,
            "idProduct",
            product,
            "authorized",
            "1",
            "bDeviceClass",
            f"{device_class:02x}",
        ]
        if serial:
            attrs += ["serial", serial]
        path = str(self.testbed.add_device("usb", port, parent, attrs, ["DEVTYPE", "usb_device"]))
        for number, (cls, sub, proto) in enumerate(interfaces):
            self.testbed.add_device(
                "usb",
                f"{port}:1.{number}",
                path,
                [
                    "bInterfaceClass",
                    f"{cls:02x}",
                    "bInterfaceSubClass",
                    f"{sub:02x}",
                    "bInterfaceProtocol",
                    f"{proto:02x}",
                    "authorized",
                    "1",
                ],
                ["DEVTYPE", "usb_interface"],
            )
        return path

    def interface(self, device: str, number: int) -> str:
        return f"{device}/{Path(device).name}:1.{number}"

    def unplug(self, path: str) -> None:
        self.testbed.uevent(path, "remove")
        self.testbed.remove_device(path)
        # umockdev leaves the bus links behind, and would refuse a re-plug on the same port.
        name = Path(path).name
        links = self.sys_dir / "bus" / "usb" / "devices"
        for link in [links / name, *links.glob(f"{name}:*")]:
            link.unlink(missing_ok=True)

    def uevent(self, path: str, action: str) -> None:
        self.testbed.uevent(path, action)

    def read(self, path: str, attribute: str = "authorized") -> Optional[str]:
        try:
            return (self.sys_dir / path.replace("/sys/", "", 1) / attribute).read_text().strip()
        except OSError:
            return None

    def write(self, path: str, value: str, attribute: str = "authorized") -> None:
        """Someone other than the daemon writes an attribute (a tamperer)."""
        (self.sys_dir / path.replace("/sys/", "", 1) / attribute).write_text(value)
