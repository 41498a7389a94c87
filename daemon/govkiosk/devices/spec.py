"""How the device layer names a device to its driver."""

from __future__ import annotations

import re
from dataclasses import dataclass

_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def shown(port: str) -> str:
    """``port`` fit to show: the ``user:password@`` of a URL (``nut://mon:secret@host/ups``,
    ``rtsp://admin:pw@camera/``) left out. Device ids, logs and the D-Bus API use this;
    only the driver opens the port itself."""
    return _USERINFO.sub("", port)


@dataclass(frozen=True)
class DeviceSpec:
    """One device as the device layer knows it."""

    id: str  #: unique and stable: ``<role>@<port-or-devpath>`` (:func:`shown`: no credentials)
    role: str  #: ``idcard``, ``receipt_printer``, ``ups`` …
    port: str  #: what the driver opens: ``/dev/ttyUSB0``, ``socket://127.0.0.1:9100`` …
