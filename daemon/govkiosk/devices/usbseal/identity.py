"""What a USB device or interface says about itself, read from sysfs.

These attributes come from the device: a clone reproduces every one of them. They
*identify* a device; together with the physical port they are the port map's key, and
no more than that (see docs/usb-sealing.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

#: Interface classes the policy treats specially.
CLASS_HID = 0x03
CLASS_STORAGE = 0x08
CLASS_HUB = 0x09


@dataclass(frozen=True)
class UsbIdentity:
    """A USB device: the port chain it hangs on (``1-2.1``) and its descriptor fields."""

    port: str
    vendor: str  #: four lower-case hex digits
    product: str
    serial: str
    device_class: int

    @property
    def id(self) -> str:
        return f"{self.vendor}:{self.product}"


@dataclass(frozen=True)
class UsbInterface:
    """One interface of a configured device (``1-2.1:1.0``)."""

    name: str
    cls: int
    subclass: int
    protocol: int

    @property
    def code(self) -> str:
        return f"{self.cls:02x}:{self.subclass:02x}:{self.protocol:02x}"


def _hex(value: Optional[str], default: int = 0) -> int:
    try:
        return int(value, 16) if value else default
    except ValueError:
        return default


def device_identity(port: str, attrs: Mapping[str, Optional[str]]) -> UsbIdentity:
    """Build the identity from sysfs attribute values (missing ones read as empty)."""
    return UsbIdentity(
        port=port,
        vendor=(attrs.get("idVendor") or "").lower(),
        product=(attrs.get("idProduct") or "").lower(),
        serial=attrs.get("serial") or "",
        device_class=_hex(attrs.get("bDeviceClass")),
    )


def interface_identity(name: str, attrs: Mapping[str, Optional[str]]) -> UsbInterface:
    return UsbInterface(
        name=name,
        cls=_hex(attrs.get("bInterfaceClass"), 0xFF),
        subclass=_hex(attrs.get("bInterfaceSubClass")),
        protocol=_hex(attrs.get("bInterfaceProtocol")),
    )
