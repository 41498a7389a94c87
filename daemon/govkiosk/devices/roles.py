"""The device roles the kiosk knows, and the address forms a device's port may take.

A role names what a device is for (``idcard``, ``ups`` …); ``[[devices.static]]`` and the
USB port map's ``allow`` rules give devices roles, and the configuration refuses a role
not listed here. :data:`DRIVEN` are served by a driver (``govkiosk.api.devices.DRIVERS``,
kept equal by a test); :data:`RECORDED` are recorded and shown, with no driver.

:func:`address_problem` checks a port against its role's address forms, so a typo such
as ``socket://host`` (no port) is reported by ``--check-config`` instead of by a driver
that retries forever.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from .camera.settings import DOC, FACE_IR, FACE_RGB

#: Role → what it is. Served by a driver.
DRIVEN: Dict[str, str] = {
    "receipt_printer": "the receipt printer (ESC/POS)",
    "presence": "the presence sensor that wakes the screen",
    "qrscanner": "the QR code scanner (serial, or a keyboard wedge under /dev/input/)",
    "idcard": "the ID card reader (二代证阅读器)",
    "ups": "the UPS (Megatec/Q1 on a serial line, or NUT's upsd)",
    FACE_RGB: "the binocular face camera's colour stream",
    FACE_IR: "the binocular face camera's near-infrared stream",
    DOC: "the document camera (高拍仪)",
}
#: Role → what it is. Recorded and shown, with no driver.
RECORDED: Dict[str, str] = {
    "hub": "a USB hub inside the kiosk (port map only)",
    "pinpad": "a PIN pad, shown in the device list",
}
ROLES: Tuple[str, ...] = tuple(sorted({*DRIVEN, *RECORDED}))
CAMERAS = (FACE_RGB, FACE_IR, DOC)

#: The address forms, for the configuration reference: (form, roles, example).
FORMS: Tuple[Tuple[str, str, str], ...] = (
    ("/dev/… (serial line or pty)", "all but cameras", "/dev/ttyUSB0"),
    ("socket://host:port", "all but cameras", "socket://192.168.10.20:9100"),
    ("/dev/input/… (keyboard wedge)", "qrscanner", "/dev/input/by-id/usb-scanner-event-kbd"),
    ("nut://host[:port]/ups", "ups", "nut://127.0.0.1:3493/kioskups"),
    ("/dev/videoN or /dev/v4l/by-id/…", "cameras", "/dev/v4l/by-id/usb-doc-cam-video-index0"),
    ("http(s)://host[:port]/path, rtsp://…", "cameras", "http://192.168.10.30:8081/rgb"),
    ("file:///absolute/path", "cameras (a recording)", "file:///srv/clips/face.avi"),
)

PORT_RANGE = "a TCP port between 1 and 65535"
CAMERA_SCHEMES = ("http", "https", "rtsp", "file")


def known_roles() -> str:
    return ", ".join(ROLES)


def address_problem(role: str, port: str) -> Optional[str]:
    """What is wrong with ``port`` for a device of ``role`` (``None``: nothing)."""
    if port.startswith("/"):
        if port.startswith("/dev/") and len(port) > len("/dev/"):
            return None
        return "expected a device path under /dev/ (such as /dev/ttyUSB0)"
    if "://" not in port:
        return "expected an absolute path under /dev/ or a URL such as socket://host:port"
    try:
        parts = urlsplit(port)
        tcp_port = parts.port
    except ValueError:
        return f"expected {PORT_RANGE} in the URL"
    if role in CAMERAS:
        return _camera_problem(parts.scheme, parts.hostname, parts.path)
    if parts.scheme == "socket":
        if not parts.hostname or tcp_port is None:
            return "expected socket://host:port"
        return _port_problem(tcp_port)
    if parts.scheme == "nut":
        if role != "ups":
            return "expected a /dev/ path or socket://host:port (nut:// serves only the ups role)"
        if not parts.hostname or not parts.path.strip("/") or "/" in parts.path.strip("/"):
            return "expected nut://host[:port]/upsname"
        return None if tcp_port is None else _port_problem(tcp_port)
    return "expected a /dev/ path or socket://host:port" + (
        " or nut://host[:port]/upsname" if role == "ups" else ""
    )


def _camera_problem(scheme: str, host: Optional[str], path: str) -> Optional[str]:
    if scheme not in CAMERA_SCHEMES:
        return "expected /dev/videoN, http(s)://host[:port]/path, rtsp://… or file:///path"
    if scheme == "file":
        return None if path.startswith("/") and not host else "expected file:///absolute/path"
    return None if host else f"expected {scheme}://host[:port]/path"


def _port_problem(tcp_port: int) -> Optional[str]:
    return None if 0 < tcp_port <= 65535 else f"expected {PORT_RANGE}"


def has_credentials(port: str) -> bool:
    """``user[:password]@`` in a URL port: the old form, kept working but deprecated."""
    try:
        parts = urlsplit(port)
    except ValueError:
        return False
    return "://" in port and (parts.username is not None or parts.password is not None)
