"""The real daemon, ``govkioskd``, as a child process on a test's private bus."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Optional

from .process import Proc, unhandled_reports

BIN = Path(sys.executable).parent

#: A kiosk whose services restart quickly, so tests see failures and recoveries fast.
CONFIG = """[kiosk]
id = "test-hlj-0001"
name = "测试政务服务中心 1号机"

[daemon]
restart_initial = 0.1
restart_max = 0.5

[devices.usb]
seal = false  # tests run as root: never touch the machine's own USB
"""


class Govkioskd:
    """Start with :meth:`start`, stop with :meth:`stop`; start again for a new process."""

    def __init__(self, directory: Path, bus_address: str, extra_config: str = "") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.bus_address = bus_address
        self.config = directory / "govkiosk.toml"
        self.config.write_text(CONFIG + extra_config, encoding="utf-8")
        self.proc: Optional[Proc] = None
        self.bin = BIN
        self.runs = 0

    def start(self, env: Optional[Dict[str, str]] = None) -> None:
        self.runs += 1
        self.proc = Proc(
            [
                str(BIN / "govkioskd"),
                "--config",
                str(self.config),
                "--state-dir",
                str(self.directory / "state"),
                "--bus",
                self.bus_address,
            ],
            self.directory / f"govkioskd-{self.runs}.log",
            env=env,
        )

    def stop(self) -> None:
        """Stop the process; then its log must hold no error its event loop had to report
        as unhandled (a test that ends a daemon on purpose ends it without those too)."""
        if self.proc is not None:
            proc, self.proc = self.proc, None
            proc.stop()
            reports = unhandled_reports(proc.output())
            assert reports == [], f"{proc.log}: the event loop reported unhandled errors"
