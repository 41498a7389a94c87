"""A private ``dbus-daemon`` per test: nothing touches the machine's own buses."""

from __future__ import annotations

from pathlib import Path

from .process import Proc, wait_until

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.socket = directory / "bus.sock"
        config = directory / "bus.conf"
        config.write_text(CONFIG.format(socket=self.socket))
        self.address = f"unix:path={self.socket}"
        self.proc = Proc(
            ["dbus-daemon", "--nofork", "--nopidfile", f"--config-file={config}"],
            directory / "dbus-daemon.log",
        )
        wait_until(self.socket.exists, 5, "dbus-daemon")

    def stop(self) -> None:
        self.proc.stop()
