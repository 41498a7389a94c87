"""sd_notify: a status may be dropped when the receiver lags; READY=1 never is."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import List

import pytest

from govkiosk.sdnotify import Notifier


class Recording(Notifier):
    """Lets the receiver drain only once a message had to wait for room."""

    def __init__(self, path: Path, drain: threading.Event) -> None:
        super().__init__({"NOTIFY_SOCKET": str(path)})
        self.waited: List[bytes] = []
        self._drain = drain

    def _send_waiting(self, message: bytes) -> None:
        self.waited.append(message)
        self._drain.set()
        super()._send_waiting(message)


def test_ready_waits_for_room_in_a_full_queue(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(10)
    drain = threading.Event()
    notifier = Recording(path, drain)
    received: List[bytes] = []

    def read() -> None:
        drain.wait()
        while not any(b"READY=1" in m for m in received):
            received.append(receiver.recv(4096))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with caplog.at_level(logging.WARNING, logger="govkiosk.sdnotify"):
            for n in range(200):  # far more than any queue holds: the last ones are dropped
                notifier.notify(f"STATUS={n}")
            assert "failed" in caplog.text  # a status nobody reads is dropped, with a warning
            caplog.clear()
            notifier.notify("READY=1", "STATUS=ready")
        reader.join(10)
    finally:
        drain.set()
        notifier.close()
        receiver.close()
    assert notifier.waited == [b"READY=1\nSTATUS=ready"]
    assert received[-1] == b"READY=1\nSTATUS=ready"
    assert "failed" not in caplog.text


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.notify("READY=1")  # does nothing, raises nothing
