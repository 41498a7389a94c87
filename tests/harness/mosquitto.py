"""A private mosquitto broker per test, on free loopback ports.

A plain listener for quick round trips and, when asked, a TLS listener configured as a site
broker is (mqtt-ops.md, "Broker"): a client certificate is required, its CN becomes the
username and an ACL file decides what each kiosk may read and write. The ports stay the same
across ``restart()``, so a test can take the broker away under a connected client.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .pki import CertificateAuthority
from .process import Proc, free_port, port_open

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0  # generous: a busy 2-core CI machine


@dataclass(frozen=True)
class BrokerTls:
    """Files for the TLS listener; ``acl`` is the caller's mosquitto ACL file."""

    ca: Path
    cert: Path
    key: Path
    acl: Path

    @classmethod
    def issue(cls, ca: CertificateAuthority, directory: Path, acl: Path) -> BrokerTls:
        """Write ``ca``'s certificate and a fresh server certificate for loopback."""
        cert, key = ca.issue_server().write(directory, "broker")
        return cls(ca=ca.write(directory), cert=cert, key=key, acl=acl)


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
            # Each listener has its own authentication and ACL: the plain one stays open.
            "per_listener_settings true",
            # As root, mosquitto would switch to user "mosquitto", who cannot read our files.
            f"user {getpass.getuser()}",
            # Sessions and retained messages survive restart(), as on a site broker.
            "persistence true",
            f"persistence_location {self.directory}/",
            "log_dest stderr",
            "log_type all",
            # As on a site broker (packaging/mosquitto): small messages are not held back.
            "set_tcp_nodelay true",
            f"listener {self.port} {HOST}",
            "allow_anonymous true",
        ]
        if tls:
            lines += [
                f"listener {self.tls_port} {HOST}",
                "allow_anonymous false",
                f"cafile {tls.ca}",
                f"certfile {tls.cert}",
                f"keyfile {tls.key}",
                "require_certificate true",
                "use_identity_as_username true",
                f"acl_file {tls.acl}",
            ]
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
