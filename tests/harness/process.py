"""Starting and stopping helper processes, and waiting for them to be ready."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, List, Optional

#: What asyncio's default exception handler logs, and dbus-next's for a message it failed.
_UNHANDLED = re.compile(
    r"never retrieved|Exception in callback|Task was destroyed but it is pending"
    r"|got unexpected error processing a message"
)


def unhandled_reports(log: str) -> List[str]:
    """The lines of a daemon's log where its event loop reported an error nobody handled."""
    return [line for line in log.splitlines() if _UNHANDLED.search(line)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready within {timeout:g} s")
        time.sleep(0.02)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Proc:
    """A child process whose output goes to a log file the test can read on failure."""

    def __init__(self, argv: List[str], log: Path, env: Optional[dict] = None) -> None:
        self.argv = argv
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT, env=env)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """``wait_until``, failing at once with the log if the process exits before it is ready."""

        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"{what} exited ({self.popen.returncode}):\n{self.output()}")
            return condition()

        wait_until(ready, timeout, what)

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()
        return self.popen.returncode
