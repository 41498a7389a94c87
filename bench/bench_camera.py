"""Cameras: frames per second through simulator → HTTP/MJPEG → capture worker (OpenCV, FFmpeg)
→ pipe (raw pixels) → driver → stream, at 640×480 (face camera, 30 fps asked) and 1920×1080
(document camera, 15 fps asked); the event loop's lag (p50/p99/max of a 5 ms ticker) while
streaming and while idle; the daemon process's CPU time per frame (the reader thread, the
hand-over, queues) and the capture worker's (decoding, sending).

The simulator runs as its own process (``govkioskctl sim camera``), as a camera is not
the daemon: its rendering does not count here. ``max`` asks the simulator for 200 fps to
find the ceiling of the whole chain on this machine.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from govkiosk.bus import EventBus
from govkiosk.devices.camera.driver import CameraDriver
from govkiosk.devices.camera.hub import CameraHub
from govkiosk.devices.camera.settings import CameraSettings
from govkiosk.devices.spec import DeviceSpec

FACE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "faces" / "obama.jpg"
SECONDS = 5.0
TICK = 0.005
SIM = "import sys; from govkiosk.devices.camera.sim import main; sys.exit(main(sys.argv[1:]))"


def _start_sim(*args: str) -> Tuple[subprocess.Popen[bytes], str]:
    scene = ["--face", str(FACE), "--box", "349,142,268,267"] if FACE.exists() else []
    if not scene:
        scene = ["--scenario", "nobody"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SIM, "--port", "0", *scene, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().decode()
    if not first.startswith("camera simulator at "):
        proc.kill()
        raise RuntimeError(f"the camera simulator did not start: {first!r}")
    return proc, first.split()[-1]


def _cpu_of(pid: Optional[int]) -> float:
    """User + system CPU seconds of process ``pid`` (0 when it is not there)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentiles(lags: List[float]) -> Dict[str, float]:
    if len(lags) < 2:
        return {}
    cuts = statistics.quantiles(lags, n=100)
    return {
        "loop_lag_p50_ms": round(cuts[49] * 1000, 2),
        "loop_lag_p99_ms": round(cuts[98] * 1000, 2),
        "loop_lag_max_ms": round(max(lags) * 1000, 2),
    }


async def _ticker(lags: List[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + TICK
        await asyncio.sleep(TICK)
        lags.append(max(0.0, loop.time() - due))


async def _measure(port: str, role: str, stream: bool) -> Dict[str, Any]:
    hub = CameraHub()
    settings = CameraSettings()
    spec = DeviceSpec(f"{role}@bench", role, port)
    driver = CameraDriver(spec, EventBus(), lambda: settings, hub)
    await driver.start()
    serving = asyncio.ensure_future(driver.serve())
    lags: List[float] = []
    stop = asyncio.Event()
    ticker = asyncio.ensure_future(_ticker(lags, stop))
    result: Dict[str, Any] = {}
    try:
        if not stream:
            await asyncio.sleep(SECONDS / 2)
            result["capturing_while_idle"] = driver.capturing
        else:
            async with hub.stream(role) as frames:
                first = await frames.next(10)
                lags.clear()
                worker = driver.worker.pid
                cpu, count, last = _cpu(), 0, first
                worker_cpu = _cpu_of(worker)
                while last.at - first.at < SECONDS:
                    last = await frames.next(5)
                    count += 1
                elapsed = last.at - first.at
                cpu = _cpu() - cpu
                worker_cpu = _cpu_of(worker) - worker_cpu
                result.update(
                    size=last.size,
                    frames_per_s=round(count / elapsed, 1),
                    dropped_by_reader=frames.dropped,
                    cpu_ms_per_frame=round(cpu / count * 1000, 2),
                    cpu_percent_of_one_core=round(cpu / elapsed * 100, 1),
                    worker_cpu_ms_per_frame=round(worker_cpu / count * 1000, 2),
                    worker_cpu_percent_of_one_core=round(worker_cpu / elapsed * 100, 1),
                )
        result.update(_percentiles(lags))
    finally:
        stop.set()
        await ticker
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await driver.stop()
    return result


def _case(role: str, stream_path: str, stream: bool, *sim_args: str) -> Dict[str, Any]:
    proc: Optional[subprocess.Popen[bytes]] = None
    try:
        proc, url = _start_sim(*sim_args)
        return asyncio.run(_measure(f"{url}/{stream_path}", role, stream))
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def run() -> Dict[str, Any]:
    return {
        "idle_no_stream": _case("face_camera_rgb", "rgb", False),
        "face_640x480_at_30": _case("face_camera_rgb", "rgb", True, "--fps", "30"),
        "doc_1920x1080_at_15": _case("doc_camera", "doc", True, "--doc-fps", "15"),
        "face_640x480_max": _case("face_camera_rgb", "rgb", True, "--fps", "200"),
        "doc_1920x1080_max": _case("doc_camera", "doc", True, "--doc-fps", "100"),
        "seconds_per_case": SECONDS,
        "note": "simulator in its own process; the host's cores are shared with it",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
