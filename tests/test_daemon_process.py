"""The daemon as systemd runs it: notify socket, watchdog, signals, reload."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from harness.dbus import PrivateBus
from harness.govkioskd import Govkioskd
from harness.process import wait_until


class NotifySocket:
    """The receiving end of sd_notify, as systemd holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: List[str] = []

    def receive(self, timeout: float) -> str:
        self.sock.settimeout(timeout)
        message = self.sock.recv(4096).decode()
        self.messages.append(message)
        return message

    def wait_for(self, line: str, timeout: float) -> float:
        """Seconds until a message containing ``line`` arrives."""
        start = time.monotonic()
        while line not in self.receive(max(0.01, timeout - (time.monotonic() - start))).split("\n"):
            pass
        return time.monotonic() - start


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.sock.close()


@pytest.fixture
def daemon(tmp_path: Path, private_bus: PrivateBus) -> Iterator[Govkioskd]:
    process = Govkioskd(tmp_path / "kiosk", private_bus.address)
    yield process
    process.stop()


def start_notified(daemon: Govkioskd, notify: NotifySocket, watchdog_usec: int = 0) -> None:
    env = dict(os.environ, NOTIFY_SOCKET=str(notify.path))
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    daemon.start(env)


def test_ready_within_2s_then_watchdog_and_clean_sigterm(
    daemon: Govkioskd, notify: NotifySocket
) -> None:
    start_notified(daemon, notify, watchdog_usec=400_000)
    assert daemon.proc is not None
    assert notify.wait_for("READY=1", timeout=2.0) < 2.0
    ready = next(m for m in notify.messages if "READY=1" in m)
    assert "STATUS=" in ready
    assert "services running" in ready
    notify.wait_for("WATCHDOG=1", timeout=1.0)
    notify.wait_for("WATCHDOG=1", timeout=1.0)  # and it keeps coming

    started = time.monotonic()
    daemon.proc.popen.send_signal(signal.SIGTERM)
    assert daemon.proc.popen.wait(timeout=5) == 0
    assert time.monotonic() - started < 5
    notify.wait_for("STOPPING=1", timeout=1.0)
    assert "Traceback" not in daemon.proc.output()


def test_sighup_keeps_the_old_config_when_the_new_one_is_invalid(
    daemon: Govkioskd, notify: NotifySocket
) -> None:
    start_notified(daemon, notify)
    assert daemon.proc is not None
    notify.wait_for("READY=1", timeout=5.0)
    original = daemon.config.read_text(encoding="utf-8")

    daemon.config.write_text(original + '\n[ups]\npoll_interval = "fast"\n', encoding="utf-8")
    daemon.proc.popen.send_signal(signal.SIGHUP)
    wait_until(lambda: "configuration not reloaded" in daemon.proc.output(), 5, "reload refusal")
    out = daemon.proc.output()
    assert 'govkiosk.toml: ups.poll_interval: expected a number of seconds > 0, got "fast"' in out
    assert daemon.proc.alive()

    daemon.config.write_text(
        original.replace("restart_max = 0.5", "restart_max = 0.6"), encoding="utf-8"
    )
    daemon.proc.popen.send_signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded from" in daemon.proc.output(), 5, "reload")
    status = subprocess.run(
        [str(Path(daemon.bin, "govkioskctl")), "--bus", daemon.bus_address, "status"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert "test-hlj-0001" in status.stdout
