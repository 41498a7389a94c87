"""A USB printer-class node (``/dev/usb/lp0``) as an asyncio transport.

The kernel's ``usblp`` node is not a tty: no termios, no baud rate, so pyserial
cannot open it. It is a character device that supports non-blocking reads, writes
and ``poll``, which is all :meth:`loop.add_reader` / :meth:`loop.add_writer` need.
Writes are queued and flushed when the node accepts them; the protocol is paused
above :data:`HIGH_WATER` so a driver awaiting ``drain`` waits for the printer.
"""

from __future__ import annotations

import asyncio
import errno
import os
from typing import Any, Callable, Tuple, TypeVar

from ..link import LinkError

P = TypeVar("P", bound=asyncio.Protocol)

HIGH_WATER = 16384
#: Ports opened by :func:`open_file_link` rather than as serial lines or sockets.
FILE_PREFIX = "file://"
USB_LP_PREFIX = "/dev/usb/lp"


def is_file_port(port: str) -> bool:
    return port.startswith((FILE_PREFIX, USB_LP_PREFIX))


class FileTransport(asyncio.Transport):
    def __init__(self, fd: int, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = asyncio.get_running_loop()
        self._fd = fd
        self._protocol = protocol
        self._buffer = bytearray()
        self._paused = False
        self._closed = False
        self._loop.add_reader(fd, self._read)
        protocol.connection_made(self)

    def _read(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError as err:
            self._fail(err)
            return
        if data:
            self._protocol.data_received(data)
        # usblp answers a read with 0 bytes when the printer has nothing to say

    def write(self, data: Any) -> None:
        if self._closed:
            return
        if not self._buffer:
            self._loop.add_writer(self._fd, self._flush)
        self._buffer += bytes(data)
        if len(self._buffer) > HIGH_WATER and not self._paused:
            self._paused = True
            self._protocol.pause_writing()

    def _flush(self) -> None:
        try:
            written = os.write(self._fd, self._buffer)
        except BlockingIOError:
            return
        except OSError as err:
            self._fail(err)
            return
        del self._buffer[:written]
        if not self._buffer:
            self._loop.remove_writer(self._fd)
        if self._paused and len(self._buffer) <= HIGH_WATER // 4:
            self._paused = False
            self._protocol.resume_writing()

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def is_closing(self) -> bool:
        return self._closed

    def _fail(self, err: OSError) -> None:
        if err.errno == errno.EAGAIN:
            return
        self._shut(err)

    def close(self) -> None:
        self._shut(None)

    def abort(self) -> None:
        self._shut(None)

    def _shut(self, err: Any) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        os.close(self._fd)
        self._loop.call_soon(self._protocol.connection_lost, err)


async def open_file_link(
    port: str, protocol_factory: Callable[[], P]
) -> Tuple[asyncio.BaseTransport, P]:
    """Open ``/dev/usb/lpN`` or ``file://<path>`` for non-blocking reading and writing."""
    path = port[len(FILE_PREFIX) :] if port.startswith(FILE_PREFIX) else port
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as err:
        raise LinkError(f"{port}: cannot open: {err.strerror}") from err
    protocol = protocol_factory()
    return FileTransport(fd, protocol), protocol
