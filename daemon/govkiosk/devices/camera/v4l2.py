"""The V4L2 video devices udev knows: what ``govkioskctl camera list`` shows an integrator.

A UVC camera usually has two nodes: one that captures (``:capture:`` in udev's
``ID_V4L_CAPABILITIES``) and one for metadata; a binocular module behind one hub shows
two cameras with two nodes each. The USB vendor and product ids are those of the camera
(its USB device), which is what the port map matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import pyudev


@dataclass(frozen=True)
class VideoDevice:
    node: str  #: ``/dev/video0``
    name: str  #: the driver's name for it (sysfs ``name``)
    vendor: str  #: USB vendor id (``046d``), ``""`` if not on USB
    product: str  #: USB product id
    model: str  #: the USB product string or udev's model name
    capabilities: Tuple[str, ...]  #: ``capture``, ``video_output``, … (udev's v4l_id)
    links: Tuple[str, ...]  #: stable names: ``/dev/v4l/by-id/…``, ``/dev/v4l/by-path/…``

    @property
    def captures(self) -> bool:
        return "capture" in self.capabilities


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return "" if value is None else str(value).strip()


def _attribute(device: pyudev.Device, name: str) -> str:
    try:
        return _text(device.attributes.get(name))
    except (OSError, KeyError):
        return ""


def describe(device: pyudev.Device) -> VideoDevice:
    usb: Optional[pyudev.Device] = device.find_parent("usb", "usb_device")
    props = device.properties
    links = _text(props.get("DEVLINKS"))  # also in the uevent, where the udev db is not kept
    capabilities = tuple(c for c in _text(props.get("ID_V4L_CAPABILITIES")).split(":") if c)
    vendor = _attribute(usb, "idVendor") if usb is not None else ""
    product = _attribute(usb, "idProduct") if usb is not None else ""
    model = (_attribute(usb, "product") if usb is not None else "") or _text(
        props.get("ID_V4L_PRODUCT") or props.get("ID_MODEL")
    )
    return VideoDevice(
        node=_text(device.device_node),
        name=_attribute(device, "name"),
        vendor=vendor or _text(props.get("ID_VENDOR_ID")),
        product=product or _text(props.get("ID_MODEL_ID")),
        model=model,
        capabilities=capabilities,
        links=tuple(sorted({_text(link) for link in device.device_links} | set(links.split()))),
    )


def video_devices(context: Optional[pyudev.Context] = None) -> List[VideoDevice]:
    """Every ``video4linux`` device with a node, by node name."""
    context = context or pyudev.Context()
    found = [describe(d) for d in context.list_devices(subsystem="video4linux") if d.device_node]
    return sorted(found, key=lambda d: d.node)
