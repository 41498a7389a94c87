"""The touch UI's speed: cold start to an interactive home screen, and tap → next screen drawn.

Targets (issue 6, RAIL): cold start ≤ 3 s; a tap answered by the next screen's first
frame within 100 ms. A private bus and a real ``govkioskd`` (default configuration,
the built-in catalogue) serve the UI; without ``$DISPLAY`` an ``Xvfb`` of its own.

Cold start: ``govkiosk-ui`` launched until it logs that home is shown with the
daemon's catalogue (fonts, Kivy, kv rules, D-Bus, first refresh). Taps: measured in a
child process running the app, alternately opening an item and going back home, from
a touch's release to the end of the first buffer swap after it (``Window.flip``
returns once the frame is in the X server's framebuffer). The screen switches inside
the release, so that frame is the next screen. Polling ``Clock.frames_displayed``
instead would add whatever Kivy's loop does before the poller runs again, often a
whole second frame.

Under ``Xvfb`` Mesa draws in software (llvmpipe): a swap of a 1280×800 frame alone
takes 30–60 ms on two cores, more when another process holds one of them, so the
figures here are a ceiling for a kiosk with a GPU.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

from govkiosk.demo import write_bus_config

BIN = Path(sys.executable).parent
STARTS = 3
TAPS = 60
TIMEOUT = 60.0
KIOSK = '[kiosk]\nid = "bench-0001"\nname = "bench"\n\n[devices.usb]\nseal = false\n'


def _wait_for(path: Path, text: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.005)
    raise TimeoutError(f"{text!r} not in {path} within {TIMEOUT} s")


class Stack:
    """Bus, daemon and (if needed) an X server, stopped in reverse order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.procs: List[subprocess.Popen[bytes]] = []
        self.env = dict(os.environ, KIVY_HOME=str(directory / "kivy"))

    def spawn(self, argv: List[str], log: str) -> subprocess.Popen[bytes]:
        with (self.directory / log).open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append(proc)
        return proc

    def start(self) -> str:
        if not self.env.get("DISPLAY"):
            read, write = os.pipe()
            self.procs.append(
                subprocess.Popen(
                    ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24"],
                    pass_fds=(write,),
                    stderr=subprocess.DEVNULL,
                )
            )
            os.close(write)
            with os.fdopen(read) as pipe:
                self.env["DISPLAY"] = ":" + pipe.readline().strip()
        self.spawn(
            ["dbus-daemon", "--nofork", "--config-file", str(write_bus_config(self.directory))],
            "bus.log",
        )
        address = f"unix:path={self.directory / 'bus.sock'}"
        config = self.directory / "govkiosk.toml"
        config.write_text(KIOSK, encoding="utf-8")
        deadline = time.monotonic() + TIMEOUT
        while not (self.directory / "bus.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.spawn(
            [
                str(BIN / "govkioskd"),
                "--config",
                str(config),
                "--state-dir",
                str(self.directory / "state"),
                "--bus",
                address,
            ],
            "govkioskd.log",
        )
        _wait_for(self.directory / "govkioskd.log", "serving cn.govkiosk.Kiosk1", deadline)
        return address

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cold_starts(stack: Stack, address: str) -> Iterator[float]:
    for run in range(STARTS):
        log = stack.directory / f"ui-{run}.log"
        start = time.monotonic()
        proc = stack.spawn(
            [
                str(
                    BIN / "govkiosk-ui",
                ),
                "--windowed",
                "--bus",
                address,
            ],
            log.name,
        )
        _wait_for(log, "showing home", start + TIMEOUT)
        yield time.monotonic() - start
        proc.terminate()
        proc.wait(10)


def _percentiles(values: List[float]) -> Dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p99": round(p99 * 1000, 1)}


def run() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as scratch:
        stack = Stack(Path(scratch))
        try:
            address = stack.start()
            starts = list(cold_starts(stack, address))
            taps = subprocess.run(
                [sys.executable, "-m", "bench.bench_ui", address],
                env=stack.env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT * 2,
                check=True,
            )
        finally:
            stack.stop()
    tap_times = json.loads(taps.stdout.strip().splitlines()[-1])
    return {
        "cold_start_to_home_s": {
            "p50": round(statistics.median(starts), 2),
            "max": round(max(starts), 2),
        },
        "tap_to_next_screen_ms": _percentiles(tap_times),
        "taps": len(tap_times),
        "target": "cold start <= 3 s; tap -> next screen drawn <= 100 ms",
    }


async def _taps(address: str) -> List[float]:
    """In the child: the app on this loop, tapped TAPS times."""
    from govkiosk_ui import fonts, window  # noqa: PLC0415 - Kivy reads its config on import

    window.prepare(windowed=True)
    fonts.register(fonts.find_cjk_font())
    from kivy.core.window import Window  # noqa: PLC0415
    from kivy.tests.common import UnitTestTouch  # noqa: PLC0415

    from govkiosk_ui.app import KioskApp  # noqa: PLC0415

    swapped: List[float] = []
    swap = Window.flip

    def stamped_swap() -> None:
        swap()
        swapped.append(time.perf_counter())

    Window.flip = stamped_swap
    app = KioskApp(address)
    task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
    while app.root is None or not app.items or app.current != "home":  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    times: List[float] = []
    for number in range(TAPS):
        if app.current == "home":
            tile = next(
                w for w in app.screen("home").walk() if getattr(w, "value", "") in app.items
            )
        else:
            tile = app.root.nav_bar.ids.back
        x, y = tile.to_window(*tile.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await asyncio.sleep(0.05)
        before, shown = len(swapped), app.current
        start = time.perf_counter()
        touch.touch_up()
        if app.current == shown:
            raise RuntimeError(f"tap {number} on {shown} changed nothing")
        while len(swapped) <= before:  # noqa: ASYNC110 - a swap has no event to await
            await asyncio.sleep(0.005)
        times.append(swapped[before] - start)
        await asyncio.sleep(0.05)
    app.stop()
    await asyncio.wait({task}, timeout=10)
    return times


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_taps(sys.argv[1]))))
