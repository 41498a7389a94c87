"""A private CUPS scheduler per test, with a raw queue whose backend captures every job.

A raw ``file://`` queue may report a job completed without having written it
(test-environment.md, "CUPS"), so the queue prints through a backend of ours instead: it
copies the job's bytes into a capture directory, one file per job, and on demand fails as a
printer out of paper would. cupsd runs backends as user ``lp``, so the whole tree lives in a
world-traversable directory under the system temp dir, not in pytest's private ``tmp_path``;
that also keeps the socket path under the 108-byte limit of a Unix socket address.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Collection, Dict, List, Optional

import cups

from .process import Proc, wait_until

READY_TIMEOUT = 30.0  # generous: a busy 2-core CI machine
LP = "lp"
SERVER_BIN = Path("/usr/lib/cups")
QUEUE = "kiosk-a4"

# Backend exit codes (cups/backend.h).
BACKEND_FAILED = 1
BACKEND_STOP = 4

# The capture backend. Without arguments CUPS asks it which devices it finds; otherwise it
# gets job-id user title copies options [file] and DEVICE_URI=capture:<dir>.
BACKEND = r"""#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct capture "Unknown" "Capture to a directory"'; exit 0; fi
set -e
dir=${DEVICE_URI#capture:}
if [ -f "$dir/.fail" ]; then
    read -r code reason message < "$dir/.fail"
    echo "$reason" > "$dir/.raised"
    echo "STATE: +$reason" >&2
    echo "ERROR: $message" >&2
    exit "$code"
fi
if [ -f "$dir/.raised" ]; then
    echo "STATE: -$(cat "$dir/.raised")" >&2
    rm -f "$dir/.raised"
fi
run="$1-$$"
if [ $# -ge 6 ]; then cat -- "$6" > "$dir/.job-$run"; else cat > "$dir/.job-$run"; fi
: > "$dir/.printing-$run"
trap 'rm -f "$dir/.printing-$run" "$dir/.job-$run"; echo "$1" >> "$dir/.stopped"; exit 1' TERM
while [ -f "$dir/.hold" ]; do sleep 0.05; done
rm -f "$dir/.printing-$run"
mv -- "$dir/.job-$run" "$dir/job-$1"
echo "$1" >> "$dir/.printed"
"""

FILES_CONF = """ServerRoot {root}/etc
ServerBin {root}/bin
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/run
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
FileDevice Yes
User lp
Group lp
SystemGroup root
"""

# Without a <Location>, cupsd rejects PeerCred and lpadmin gets "Unauthorized".
CUPSD_CONF = """LogLevel debug
MaxLogSize 0
Listen {socket}
Browsing No
WebInterface No
<Location />
  Order allow,deny
  Allow localhost
</Location>
"""


class CupsServer:
    """``cupsd -f`` on a domain socket, with one raw queue printing to a capture directory."""

    def __init__(self, queue: str = QUEUE) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="govkiosk-cups-"))
        self.root.chmod(0o755)
        self.socket = self.root / "run" / "cups.sock"
        self.queue = queue
        self.capture_dir = self.root / "capture"
        self.env = {"CUPS_SERVER": str(self.socket)}
        self._proc: Optional[Proc] = None
        self._queue_added = False
        for sub in ("etc", "bin/backend", "spool/tmp", "cache", "run", "log", "capture"):
            (self.root / sub).mkdir(parents=True)
        shutil.chown(self.capture_dir, LP, LP)
        self._link_server_bin()
        self.files_conf = self.root / "cups-files.conf"
        self.files_conf.write_text(FILES_CONF.format(root=self.root))
        self.cupsd_conf = self.root / "cupsd.conf"
        self.cupsd_conf.write_text(CUPSD_CONF.format(socket=self.socket))

    def _link_server_bin(self) -> None:
        """The system's filters and helpers (cups-exec runs every backend), our backend only."""
        for entry in SERVER_BIN.iterdir():
            if entry.name != "backend":
                (self.root / "bin" / entry.name).symlink_to(entry)
        backend = self.root / "bin" / "backend" / "capture"
        backend.write_text(BACKEND)
        # Not 0700: cupsd would run it as root. 0755 runs it as lp, like a real backend.
        backend.chmod(0o755)

    def _argv(self, *extra: str) -> List[str]:
        return ["cupsd", *extra, "-c", str(self.cupsd_conf), "-s", str(self.files_conf)]

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        # cupsd exits silently on a bad configuration; -t says what is wrong.
        check = subprocess.run(
            self._argv("-t"), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"cupsd -t: {check.stdout}{check.stderr}")
        self._proc = Proc(self._argv("-f"), self.root / "log" / "cupsd.out")
        self._proc.wait_ready(self._accepting, timeout, "cupsd")
        if not self._queue_added:  # again on a restart would restart the job it prints
            self.lpadmin("-p", self.queue, "-E", "-v", f"capture:{self.capture_dir}")
            self._queue_added = True

    def _accepting(self) -> bool:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.socket))
            except OSError:
                return False
            return True

    def lpadmin(self, *args: str) -> None:
        """Run lpadmin over the domain socket, where root is authenticated by peer credentials."""
        done = subprocess.run(
            ["lpadmin", "-h", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"lpadmin {' '.join(args)}: {done.stderr.strip()}")

    def set_error_policy(self, policy: str) -> None:
        """``stop-printer`` (the default), ``abort-job``, ``retry-job``, ``retry-current-job``."""
        self.lpadmin("-p", self.queue, "-o", f"printer-error-policy={policy}")

    def connect(self) -> cups.Connection:
        """A pycups connection to this scheduler (blocking calls), without touching the
        process-wide default server."""
        return cups.Connection(host=str(self.socket))

    def fail(
        self,
        code: int = BACKEND_STOP,
        reason: str = "media-empty-error",
        message: str = "paper out",
    ) -> None:
        """Make every following job fail in the backend, reporting ``reason`` and ``message``."""
        (self.capture_dir / ".fail").write_text(f"{code} {reason} {message}\n")

    def hold(self) -> None:
        """Make the backend keep every following job mid-print (its bytes read, the
        paper not yet out) until :meth:`release`; :meth:`printing` says which it holds."""
        (self.capture_dir / ".hold").write_text("")

    def release(self) -> None:
        (self.capture_dir / ".hold").unlink()

    def printing(self) -> List[int]:
        """Ids of the jobs the backend is holding mid-print (a run that cupsd killed
        with SIGKILL leaves its marker behind)."""
        return sorted(int(p.name.split("-")[1]) for p in self.capture_dir.glob(".printing-*"))

    def restart(self, timeout: float = READY_TIMEOUT) -> None:
        """Stop cupsd (SIGTERM: it stops the job it was printing) and start it again on
        the same spool, as a package update or ``systemctl restart cups`` does."""
        self.stop()
        self.start(timeout)

    def repair(self) -> None:
        """Undo ``fail()`` and resume the queue, as an operator would after loading paper."""
        (self.capture_dir / ".fail").unlink()
        self.connect().enablePrinter(self.queue)

    def captured(self) -> List[bytes]:
        """Payloads the backend received, in job-id order."""
        return list(self.captured_jobs().values())

    def printed(self) -> List[int]:
        """The id of the job of every backend run that put paper out, in order: a job
        printed twice (a scheduler that ran it again) is there twice."""
        runs = self.capture_dir / ".printed"
        return [int(line) for line in runs.read_text().split()] if runs.exists() else []

    def captured_jobs(self) -> Dict[int, bytes]:
        jobs = {
            int(path.name.split("-", 1)[1]): path.read_bytes()
            for path in self.capture_dir.glob("job-*")
        }
        return dict(sorted(jobs.items()))

    def wait_job(
        self, job_id: int, states: Collection[int], timeout: float = READY_TIMEOUT
    ) -> Dict[str, Any]:
        """Poll until the job is in one of ``states`` (``cups.IPP_JOB_*``); its attributes."""
        connection = self.connect()
        attributes: Dict[str, Any] = {}

        def reached() -> bool:
            attributes.update(connection.getJobAttributes(job_id))
            return attributes["job-state"] in states

        wait_until(reached, timeout, f"cups job {job_id} in state {sorted(states)}")
        return attributes

    def printer_state(self) -> Dict[str, Any]:
        """The queue's printer-state (``cups.IPP_PRINTER_*``), its reasons and message."""
        return dict(
            self.connect().getPrinterAttributes(
                self.queue,
                requested_attributes=[
                    "printer-state",
                    "printer-state-reasons",
                    "printer-state-message",
                ],
            )
        )

    def log(self) -> str:
        """cupsd's error_log (LogLevel debug): what to read when a print test fails."""
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()

    def remove(self) -> None:
        """Stop and delete the whole private tree."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
