"""A private ``dbus-daemon`` per test: nothing touches the machine's own buses."""

from __future__ import annotations

import socket
from pathlib import Path

from govkiosk.demo import write_bus_config

from .process import Proc, wait_until


class PrivateBus:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.socket = directory / "bus.sock"
        config = write_bus_config(directory)  # the demo's bus: the socket is bus.sock
        self.address = f"unix:path={self.socket}"
        self.proc = Proc(
            ["dbus-daemon", "--nofork", "--nopidfile", f"--config-file={config}"],
            directory / "dbus-daemon.log",
        )
        # Listening, not merely there: dbus-daemon binds the socket before it listens,
        # and a client connecting in between is refused.
        wait_until(self._listening, 5, "dbus-daemon")

    def _listening(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def stop(self) -> None:
        self.proc.stop()
