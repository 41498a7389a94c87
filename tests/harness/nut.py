"""A private NUT: ``dummy-ups`` fed from a ``.dev`` file the test rewrites, and ``upsd``.

Nothing touches the machine's own NUT: configuration, state and pid files live in the
test's directory (``NUT_CONFPATH``/``NUT_STATEPATH``/``NUT_ALTPIDPATH``). dummy-ups
re-reads the ``.dev`` file when its mtime changes; mtimes can be as coarse as a
second, so each rewrite sets an mtime one second past the previous one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

from .process import Proc, free_port, port_open

DRIVER = "/lib/nut/dummy-ups"
#: An account without instant commands.
WATCHER = "watcher"
UPSD = "/lib/nut/upsd"

ONLINE: Dict[str, str] = {
    "device.mfr": "Simulated",
    "device.model": "Kiosk UPS 1000",
    "ups.status": "OL CHRG",
    "battery.charge": "100",
    "battery.runtime": "1800",
    "battery.voltage": "27.0",
    "input.voltage": "226.0",
    "output.voltage": "220.0",
    "ups.load": "14",
    "ups.temperature": "30.5",
}


class NutServer:
    def __init__(
        self,
        directory: Path,
        name: str = "kioskups",
        user: str = "monitor",
        password: str = "s3cret",
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self.directory = directory
        self.name = name
        self.user = user
        self.password = password
        self.port = free_port()
        self.dev = directory / f"{name}.dev"
        self.variables = dict(ONLINE)
        self._mtime = 1_000_000_000
        self._write_config()
        self.write(**{})
        env = dict(
            os.environ,
            NUT_CONFPATH=str(directory),
            NUT_STATEPATH=str(directory),
            NUT_ALTPIDPATH=str(directory),
        )
        self.driver = Proc([DRIVER, "-a", name, "-u", "root", "-F"], directory / "driver.log", env)
        self.driver.wait_ready(
            lambda: any(p.name.startswith(f"dummy-ups-{name}") for p in directory.iterdir()),
            10,
            "dummy-ups",
        )
        self.upsd = Proc([UPSD, "-u", "root", "-F"], directory / "upsd.log", env)
        self.upsd.wait_ready(lambda: port_open(self.port), 10, "upsd")

    @property
    def url(self) -> str:
        """The driver port, without credentials (they go in the settings)."""
        return f"nut://127.0.0.1:{self.port}/{self.name}"

    def write(self, **changes: str) -> None:
        """Change variables (``ups_status="OB DISCHRG"`` sets ``ups.status``)."""
        self.variables.update({k.replace("_", "."): v for k, v in changes.items()})
        text = "".join(f"{k}: {v}\n" for k, v in self.variables.items())
        tmp = self.dev.with_suffix(".tmp")
        tmp.write_text(text)
        self._mtime += 1
        os.utime(tmp, (self._mtime, self._mtime))
        tmp.replace(self.dev)

    def stop_driver(self) -> None:
        self.driver.stop()

    def stop(self) -> None:
        self.upsd.stop()
        self.driver.stop()

    def _write_config(self) -> None:
        files = {
            "nut.conf": "MODE=standalone\n",
            "ups.conf": (
                f"[{self.name}]\n  driver = dummy-ups\n  port = {self.dev}\n"
                '  desc = "kiosk UPS"\n  pollinterval = 1\n'
            ),
            "upsd.conf": f"LISTEN 127.0.0.1 {self.port}\nMAXAGE 5\n",
            # The monitoring account may also run instant commands (the battery test);
            # ``watcher`` (same password) only monitors: upsd refuses it a command.
            "upsd.users": (
                f"[{self.user}]\n  password = {self.password}\n  upsmon secondary\n"
                "  instcmds = all\n"
                f"[{WATCHER}]\n  password = {self.password}\n  upsmon secondary\n"
            ),
        }
        for name, text in files.items():
            path = self.directory / name
            path.write_text(text)
            os.chmod(path, 0o600)
