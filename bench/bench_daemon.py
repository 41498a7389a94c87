"""The daemon as systemd sees it: process start → READY=1, and SIGTERM → exit.

Each run starts ``govkioskd`` (no devices) on a private ``dbus-daemon`` with a datagram
socket standing in for systemd's ``$NOTIFY_SOCKET``. Targets: READY within 2 s, a clean
stop within 5 s.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

RUNS = 10
CONFIG = '[kiosk]\nid = "bench-0001"\n\n[devices.usb]\nseal = false\n'


def _percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run() -> Dict[str, object]:
    daemon = str(Path(sys.executable).parent / "govkioskd")
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "govkiosk.toml").write_text(CONFIG)
        bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        ready: List[float] = []
        stop: List[float] = []
        try:
            for n in range(RUNS):
                path = root / f"notify-{n}.sock"
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
                    notify.bind(str(path))
                    notify.settimeout(10)
                    started = time.monotonic()
                    proc = subprocess.Popen(
                        [
                            daemon,
                            "--config",
                            str(root / "govkiosk.toml"),
                            "--state-dir",
                            str(root / "state"),
                            "--bus",
                            address,
                        ],
                        env=dict(os.environ, NOTIFY_SOCKET=str(path)),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    while b"READY=1" not in notify.recv(4096):
                        pass
                    ready.append(time.monotonic() - started)
                    stopping = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
                    code = proc.wait(10)
                    stop.append(time.monotonic() - stopping)
                    assert code == 0, f"govkioskd exited {code}"
        finally:
            bus.terminate()
            bus.wait()
    return {
        "runs": RUNS,
        "ready_p50_s": round(statistics.median(ready), 3),
        "ready_max_s": round(max(ready), 3),
        "sigterm_exit_p50_s": round(statistics.median(stop), 3),
        "sigterm_exit_p99_s": round(_percentile(stop, 0.99), 3),
        "target": "READY=1 within 2 s of start; exit within 5 s of SIGTERM",
    }
