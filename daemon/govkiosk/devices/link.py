"""Opening the byte stream to a device: a serial port, a pty, or ``socket://host:port``.

Drivers take a *port* string and never care which kind it is, so a simulator on a
pty or a TCP socket (or ``socat`` in front of real hardware) stands in for the device.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Tuple, TypeVar
from urllib.parse import urlsplit

import serial_asyncio

from ..errors import GovkioskError
from ..timeouts import wait_for

P = TypeVar("P", bound=asyncio.Protocol)


class LinkError(GovkioskError):
    """The device's port cannot be opened."""


def parse_socket_url(port: str) -> Tuple[str, int]:
    parts = urlsplit(port)
    if parts.scheme != "socket" or not parts.hostname or parts.port is None:
        raise LinkError(f"{port!r}: expected socket://host:port")
    return parts.hostname, parts.port


async def open_link(
    port: str,
    protocol_factory: Callable[[], P],
    *,
    baudrate: int = 115200,
    timeout: float = 5.0,
) -> Tuple[asyncio.BaseTransport, P]:
    """Connect ``protocol_factory()`` to ``port``; raise :class:`LinkError` on failure."""
    loop = asyncio.get_running_loop()
    try:
        if port.startswith("socket://"):
            host, tcp_port = parse_socket_url(port)
            opening = loop.create_connection(protocol_factory, host, tcp_port)
        else:
            opening = serial_asyncio.create_serial_connection(
                loop, protocol_factory, port, baudrate=baudrate
            )
        return await wait_for(opening, timeout)
    except asyncio.TimeoutError as err:
        raise LinkError(f"{port}: no connection within {timeout:g} s") from err
    except (OSError, ValueError) as err:
        raise LinkError(f"{port}: cannot open: {err}") from err
