"""A private mosquitto broker per test, on free loopback ports.

A plain listener for quick round trips and, when asked, a TLS listener configured as a site
broker is (mqtt-ops.md, "Broker"): a client certificate is required, its CN becomes the
username and an ACL file decides what each kiosk may read and write. The ports stay the same
across ``restart()``, so a test can take the broker away under a connected client.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from govkiosk.fleet.sitebroker import BrokerTls, private_settings, site_listener

from .process import Proc, free_port, port_open

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0  # generous: a busy 2-core CI machine


class Broker:
    """``mosquitto -c <private conf>`` in the foreground, as a child process."""

    def __init__(self, directory: Path, tls: Optional[BrokerTls] = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.host = HOST
        self.port = free_port()
        self.tls_port: Optional[int] = free_port() if tls else None
        self.config = directory / "mosquitto.conf"
        self.config.write_text(self._config(tls))
        self._proc: Optional[Proc] = None
        self._logs: List[Path] = []

    def _config(self, tls: Optional[BrokerTls]) -> str:
        lines = [
            *private_settings(self.directory),
            "log_type all",
            # The plain listener stays open: quick round trips without certificates.
            f"listener {self.port} {HOST}",
            "allow_anonymous true",
        ]
        if tls:
            assert self.tls_port is not None
            lines += site_listener(HOST, self.tls_port, tls)
        return "\n".join(lines) + "\n"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        if self.running:
            raise RuntimeError("mosquitto is already running")
        log = self.directory / f"mosquitto-{len(self._logs) + 1}.log"
        self._logs.append(log)
        self._proc = Proc(["mosquitto", "-c", str(self.config)], log)
        self.wait_listening(timeout)

    def wait_listening(self, timeout: float = READY_TIMEOUT) -> None:
        if self._proc is None:
            raise RuntimeError("mosquitto was never started")
        ports = [p for p in (self.port, self.tls_port) if p is not None]
        self._proc.wait_ready(lambda: all(port_open(p) for p in ports), timeout, "mosquitto")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()

    def restart(self, timeout: float = READY_TIMEOUT) -> None:
        self.stop()
        self.start(timeout)

    def output(self) -> str:
        """Every run's log, oldest first: what to print when a test fails."""
        return "".join(log.read_text(errors="replace") for log in self._logs)
