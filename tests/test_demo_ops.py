"""The demo's remote operations: the ``govkioskctl fleet`` command it prints reaches the kiosk."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from govkiosk.fleet.client import FleetView
from harness.govkioskd import BIN
from harness.process import Proc, wait_until

KIOSK = "demo-hlj-0001"  # [kiosk] id of config/demo.toml
TIMEOUT = 30.0


def processes_naming(text: str) -> list:
    """Command lines of running processes that mention ``text`` (the demo's state dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # not a process, or gone meanwhile
        if text in argv and entry.name != str(os.getpid()):
            found.append(argv)
    return found


def run(argv: List[str], env: Dict[str, str], method: str) -> str:
    """``argv`` (the printed ``fleet send … status``) for ``method``: what it prints."""
    result = subprocess.run(
        [*argv[:-1], method], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    return result.stdout + result.stderr


def send(argv: List[str], env: Dict[str, str], method: str) -> Dict[str, Any]:
    first, _, rest = run(argv, env, method).partition("\n")
    assert first == f"{KIOSK}: SUCCEEDED", first + rest
    return json.loads(rest)  # type: ignore[no-any-return]


@pytest.mark.ui
def test_the_printed_fleet_command_gets_a_signed_status_from_the_demo_kiosk(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', os.defpath)}"  # govkioskctl as printed
    state = tmp_path / "state"
    demo = Proc(
        [
            sys.executable,
            "-m",
            "govkiosk.demo",
            "--state-dir",
            str(state),
            "--screenshot",
            str(tmp_path / "demo.png"),
        ],
        tmp_path / "demo.log",
        env=env,
    )
    try:
        demo.wait_ready(lambda: "Ctrl-C stops everything." in demo.output(), TIMEOUT, "demo")
        found = re.search(r"send status: (.+)", demo.output())
        assert found, demo.output()
        argv = shlex.split(found.group(1))
        assert argv[:3] == ["govkioskctl", "fleet", "send"]
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        # The real UI answers the ops methods that concern it (its name is on the bus
        # before it draws the daemon's status, which its screenshot waits for).
        demo.wait_ready(lambda: "screenshot written" in demo.output(), TIMEOUT, "the UI")
        shot = send(argv, env, "screenshot")
        assert base64.b64decode(shot["png"]).startswith(b"\x89PNG")
        assert send(argv, env, "ui.restart") == {"restarted": "ui"}
        demo.wait_ready(
            lambda: "govkiosk-ui restarted" in demo.output(), TIMEOUT, "the UI restarted"
        )
        wait_until(
            lambda: run(argv, env, "screenshot").startswith(f"{KIOSK}: SUCCEEDED"),
            TIMEOUT,
            "a screenshot from the new UI",
        )
    finally:
        assert demo.stop() == 0, demo.output()

    # `fleet send` prints only replies whose signature verifies against a certificate the
    # demo site CA issued to the kiosk id; anything else would be "no answer in time".
    assert result.returncode == 0, result.stdout + result.stderr
    first, _, rest = result.stdout.partition("\n")
    assert first == f"{KIOSK}: SUCCEEDED"
    status = json.loads(rest)
    assert status["kiosk"]["id"] == KIOSK
    assert status["healthy"] is True
    assert "ops" in {s["name"] for s in status["services"] if s["state"] == "running"}
    # What `fleet watch` makes of the same health document: no device is faulty.
    view = FleetView()
    row = view.handle(f"kiosk/v1/{KIOSK}/telemetry", json.dumps(status).encode(), time.time())
    assert row is not None
    assert row.healthy is True
    assert row.devices_faulty == 0

    assert re.search(r"watch: +govkioskctl fleet watch --broker 127\.0\.0\.1:\d+ ", demo.output())
    assert "govkiosk demo stopped" in demo.output()
    assert f"Client {KIOSK} disconnected" in (state / "logs" / "mosquitto.log").read_text()
    assert processes_naming(str(state)) == []
