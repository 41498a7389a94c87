"""The real ``govkioskd`` with three cameras up (the camera simulator over HTTP) never maps
OpenCV, FFmpeg or NumPy into its own process: its cameras were opened by capture worker
processes, its children, which the daemon starts and which exit when idle."""

from __future__ import annotations

from pathlib import Path
from typing import List

from govkiosk.devices.camera.worker import PROCESS_NAME
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kioskproc import kiosk_process

ROLES = ("face_camera_rgb", "face_camera_ir", "doc_camera")
HEAVY = ("cv2", "opencv", "libavcodec", "numpy")


def _mapped(pid: int) -> List[str]:
    """The shared objects mapped into process ``pid``."""
    paths = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and ".so" in parts[5]:
            paths.add(parts[5])
    return sorted(paths)


def _said_ready(log: str, role: str) -> bool:
    return any(f"{role}@" in line and ": ready (" in line for line in log.splitlines())


def _name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _children(pid: int) -> List[int]:
    found: List[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


async def test_the_daemon_with_its_cameras_up_maps_no_opencv_nor_numpy(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk_process(tmp_path / "kiosk", private_bus, cupsd) as k:
        await k.start()
        assert k.daemon.proc is not None
        pid = k.daemon.proc.popen.pid
        await eventually(
            lambda: all(_said_ready(k.log(), role) for role in ROLES),
            "every camera probed and ready",
            timeout=60,
        )
        heavy = [path for path in _mapped(pid) if any(name in path for name in HEAVY)]
        assert heavy == []
        # The probes ran in children, named so, that did load OpenCV.
        workers = [child for child in _children(pid) if _name(child) == PROCESS_NAME]
        assert workers, "no capture worker among the daemon's children"
        assert all(any("cv2" in path for path in _mapped(child)) for child in workers)
