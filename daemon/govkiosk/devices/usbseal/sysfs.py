"""Reading and writing the kernel's USB authorisation attributes.

The root is injectable (``/sys`` in production, a umockdev testbed's directory in
tests and the benchmark). Attribute reads are memory reads in the kernel and are done
inline; writes may unbind or bind a driver and are run by the caller off the loop.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import List, Optional

from ...errors import GovkioskError

_LOGGER = logging.getLogger(__name__)

AUTHORIZED = "authorized"
AUTHORIZED_DEFAULT = "authorized_default"
INTERFACE_AUTHORIZED_DEFAULT = "interface_authorized_default"
SEALED = "0"
OPEN = "1"


class SysfsError(GovkioskError):
    """A sysfs attribute cannot be written."""


class Sysfs:
    def __init__(self, root: Path = Path("/sys")) -> None:
        self.root = root

    def path(self, devpath: str) -> Path:
        """``/devices/usb1/1-2`` (udev's DEVPATH) → the directory under the root."""
        return self.root / devpath.lstrip("/")

    def root_hubs(self) -> List[str]:
        """DEVPATHs of every root hub (``usb1``, ``usb2`` …)."""
        devices = self.root / "bus" / "usb" / "devices"
        if not devices.is_dir():
            return []
        return sorted(
            "/" + str(link.resolve().relative_to(self.root.resolve()))
            for link in devices.glob("usb*")
        )

    def read(self, devpath: str, attribute: str) -> Optional[str]:
        try:
            return (self.path(devpath) / attribute).read_text().strip()
        except OSError:
            return None

    def write(self, devpath: str, attribute: str, value: str) -> None:
        target = self.path(devpath) / attribute
        try:
            # Never create: a device unplugged meanwhile must not get a stray file.
            descriptor = os.open(target, os.O_WRONLY)
            try:
                os.write(descriptor, value.encode())
            finally:
                os.close(descriptor)
        except OSError as err:
            raise SysfsError(f"{devpath}: cannot write {value} to {attribute}: {err}") from err

    def seal_root_hub(self, devpath: str) -> None:
        """New devices and interfaces on this bus start unauthorised (no driver binds)."""
        self.write(devpath, AUTHORIZED_DEFAULT, SEALED)
        if (self.path(devpath) / INTERFACE_AUTHORIZED_DEFAULT).exists():
            self.write(devpath, INTERFACE_AUTHORIZED_DEFAULT, SEALED)
        else:
            _LOGGER.debug("%s: no per-interface default on this kernel", devpath)
