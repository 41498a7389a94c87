"""systemd's notification protocol, spoken directly: no C library needed.

A datagram of ``KEY=value`` lines to the socket named by ``$NOTIFY_SOCKET`` (a path, or
an abstract name starting with ``@``). Outside systemd the variable is unset and every
call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Mapping, Optional

_LOGGER = logging.getLogger(__name__)

#: Messages that wait for room in the receiver's queue instead of being dropped.
MUST_DELIVER = frozenset({"READY=1", "STOPPING=1"})
#: How long they wait at most (the event loop waits with them: once at start and stop).
MUST_DELIVER_TIMEOUT = 5.0


class Notifier:
    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self._address = _socket_address(environ.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = _watchdog_interval(environ)
        self._sock: Optional[socket.socket] = None
        if self._address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *lines: str) -> None:
        """Send ``READY=1``, ``STATUS=…``, ``WATCHDOG=1``, ``STOPPING=1`` and the like.

        The socket does not block: a status nobody reads in time is dropped. ``READY=1``
        and ``STOPPING=1`` are not: when the receiver's queue is full (a busy systemd at
        boot; the queue holds ``net.unix.max_dgram_qlen`` datagrams, 10 by default) they
        wait for room, up to :data:`MUST_DELIVER_TIMEOUT`, since systemd would otherwise
        time the start out and kill the daemon."""
        if self._sock is None or self._address is None:
            return
        message = "\n".join(lines).encode()
        try:
            self._sock.sendto(message, self._address)
        except BlockingIOError as err:
            if not MUST_DELIVER.intersection(lines):
                _LOGGER.warning("sd_notify to %s failed: %s", self._address, err)
                return
            self._send_waiting(message)
        except OSError as err:
            _LOGGER.warning("sd_notify to %s failed: %s", self._address, err)

    def _send_waiting(self, message: bytes) -> None:
        assert self._sock is not None
        assert self._address is not None
        self._sock.settimeout(MUST_DELIVER_TIMEOUT)
        try:
            self._sock.sendto(message, self._address)
        except OSError as err:
            _LOGGER.warning("sd_notify to %s failed: %s", self._address, err)
        finally:
            self._sock.setblocking(False)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _socket_address(value: str) -> Optional[str]:
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    return value if value.startswith("/") else None


def _watchdog_interval(environ: Mapping[str, str]) -> Optional[float]:
    """Half the watchdog timeout, as systemd advises; None when no watchdog is set for us."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1e6 / 2
