"""The promotion screen's cost: CPU of ``govkiosk-promo`` while an image is shown (target:
near zero — nothing is redrawn), while a video plays, and the time from ``govkioskctl promo
load`` to the new playlist on screen.

A private bus, a real ``govkioskd`` and an ``Xvfb`` with two screens (1280×800 and a
portrait 1080×1920, where the promotion program runs). CPU is the process's user + system
time from ``/proc/<pid>/stat`` over the interval, as a percentage of one core. Under Xvfb
Mesa draws in software, so the video figure is a ceiling for a kiosk with a GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

from govkiosk.demo import write_bus_config
from govkiosk.promo.demo_content import DATA, write_clip

BIN = Path(sys.executable).parent
IDLE_SECONDS = 30.0
VIDEO_SECONDS = 10.0
TIMEOUT = 60.0
KIOSK = '[kiosk]\nid = "bench-0001"\nname = "bench"\n\n[devices.usb]\nseal = false\n'
TICKS = os.sysconf("SC_CLK_TCK")


def _wait_for(path: Path, text: str, after: int = 0) -> float:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace")[after:]:
            return time.monotonic()
        time.sleep(0.005)
    raise TimeoutError(f"{text!r} not in {path} within {TIMEOUT} s")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _cpu_percent(pid: int, seconds: float) -> float:
    before, start = _cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    used, elapsed = _cpu_seconds(pid) - before, time.monotonic() - start
    return round(100 * used / elapsed, 2)


def _playlist(directory: Path, version: str, entries: List[Dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    document = {"format": 1, "version": version, "entries": entries}
    (directory / "playlist.json").write_text(json.dumps(document), encoding="utf-8")
    return directory


Spawn = Callable[..., "subprocess.Popen[bytes]"]


def _start(directory: Path, env: Dict[str, str], spawn: Spawn) -> Tuple[str, str]:
    """Xvfb with two screens, the bus and the daemon: ``(display, bus address)``."""
    read, write = os.pipe()
    spawn(
        ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0",
         "1280x800x24", "-screen", "1", "1080x1920x24"],
        "xvfb.log",
        pass_fds=(write,),
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    spawn(
        ["dbus-daemon", "--nofork", "--config-file", str(write_bus_config(directory))],
        "bus.log",
    )
    address = f"unix:path={directory / 'bus.sock'}"
    config = directory / "govkiosk.toml"
    config.write_text(KIOSK, encoding="utf-8")
    deadline = time.monotonic() + TIMEOUT
    while not (directory / "bus.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    daemon_argv = [str(BIN / "govkioskd"), "--config", str(config), "--state-dir",
                   str(directory / "state"), "--bus", address]  # fmt: skip
    spawn(daemon_argv, "govkioskd.log", env=env)
    _wait_for(directory / "govkioskd.log", "ready:")
    return display, address


def run() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-promo-") as tmp:
        directory = Path(tmp)
        env = dict(os.environ, KIVY_HOME=str(directory / "kivy"))
        procs: List[subprocess.Popen[bytes]] = []

        def spawn(argv: List[str], log: str, **extra: Any) -> subprocess.Popen[bytes]:
            with (directory / log).open("wb") as out:
                proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **extra)
            procs.append(proc)
            return proc

        try:
            display, address = _start(directory, env, spawn)
            promo_log = directory / "promo.log"
            promo = spawn(
                [sys.executable, "-m", "govkiosk_ui.promo", "--bus", address],
                promo_log.name,
                env=dict(env, DISPLAY=f"{display}.1"),
            )
            _wait_for(promo_log, "promo: no playlist installed")

            image = _playlist(
                directory / "image",
                "image",
                [{"name": "welcome", "file": "welcome.png", "duration": 3600}],
            )
            (image / "welcome.png").write_bytes((DATA / "welcome.png").read_bytes())
            ctl = [str(BIN / "govkioskctl"), "promo", "--bus", address, "load"]
            mark = len(promo_log.read_text(errors="replace"))
            start = time.monotonic()
            subprocess.run([*ctl, str(image)], check=True, capture_output=True, env=env)
            shown = _wait_for(promo_log, "promo: showing image/welcome", mark)
            load_to_screen = shown - start
            time.sleep(2.0)  # let the first frames and the collector settle
            idle = _cpu_percent(promo.pid, IDLE_SECONDS)

            video = _playlist(directory / "video", "video", [{"name": "clip", "file": "clip.mp4"}])
            write_clip(video / "clip.mp4", seconds=VIDEO_SECONDS + 5)
            mark = len(promo_log.read_text(errors="replace"))
            subprocess.run([*ctl, str(video)], check=True, capture_output=True, env=env)
            _wait_for(promo_log, "promo: showing video/clip", mark)
            playing = _cpu_percent(promo.pid, VIDEO_SECONDS)
            return {
                "idle_image_cpu_percent": idle,
                "idle_seconds": IDLE_SECONDS,
                "video_540x960_25fps_cpu_percent": playing,
                "load_to_screen_ms": round(load_to_screen * 1000, 1),
            }
        finally:
            for proc in reversed(procs):
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
