"""Hosting a device simulator on a pty or a TCP port.

A simulator is an ordinary :class:`asyncio.Protocol` for the *device* end of the
wire. :func:`serve_pty` gives it a pseudo-terminal whose other end a driver opens like
a serial port; :func:`serve_tcp` gives it a listening socket for ``socket://`` ports.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import tty
from typing import Any, Callable, Tuple


class PtyTransport(asyncio.Transport):
    """The master side of a pty as an asyncio transport."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = asyncio.get_running_loop()
        self._protocol = protocol
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass unchanged
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._closed = False
        self._loop.add_reader(self._master, self._read)
        protocol.connection_made(self)

    def _read(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno == errno.EIO:  # nobody has the other end open right now
                return
            raise
        if data:
            self._protocol.data_received(data)

    def write(self, data: Any) -> None:
        if self._closed:
            return
        view = memoryview(bytes(data))
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                # The driver is not reading: a real device would lose bytes too.
                return
            view = view[written:]

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)
        self._loop.call_soon(self._protocol.connection_lost, None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.path if name == "pty" else default


def serve_pty(protocol: asyncio.Protocol) -> PtyTransport:
    """Attach ``protocol`` to a new pty; its ``path`` is the port to give the driver."""
    return PtyTransport(protocol)


async def serve_tcp(
    protocol_factory: Callable[[], asyncio.Protocol],
    host: str = "127.0.0.1",
    port: int = 0,
) -> asyncio.Server:
    """Listen for drivers on ``host:port`` (0 picks a free port: see ``server.sockets``)."""
    return await asyncio.get_running_loop().create_server(protocol_factory, host, port)


def tcp_address(value: str) -> Tuple[str, int]:
    """``--tcp [HOST:]PORT`` for every simulator; the host defaults to loopback."""
    host, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: expected [HOST:]PORT, e.g. 127.0.0.1:9100")
    return host or "127.0.0.1", int(port)


def add_tcp_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tcp",
        type=tcp_address,
        metavar="[HOST:]PORT",
        help="listen on TCP instead of a pty (PORT 0: any free port)",
    )


def socket_url(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"socket://{host}:{port}"
