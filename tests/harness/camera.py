"""Camera test parts: the MJPEG simulator in-process or as ``govkioskctl sim camera``, and
the real driver under a real supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import AsyncIterator, Dict, List, Tuple

import aiohttp
import cv2
import numpy as np

from govkiosk.bus import EventBus
from govkiosk.contract.connection import Backoff
from govkiosk.devices.camera.driver import CameraDriver
from govkiosk.devices.camera.events import CameraStateChanged
from govkiosk.devices.camera.hub import CameraHub
from govkiosk.devices.camera.scenes import FaceScene
from govkiosk.devices.camera.settings import CameraSettings
from govkiosk.devices.camera.sim import CameraSimulator, SceneSource
from govkiosk.devices.spec import DeviceSpec
from govkiosk.supervisor import Supervisor

FACES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "faces"
OBAMA = FACES / "obama.jpg"
#: Where dlib's frontal face detector finds the face in obama.jpg (x, y, w, h).
OBAMA_BOX = (349, 142, 268, 267)

#: Short limits so failures show within a second; still far above a frame period.
FAST = CameraSettings(stall_after=0.6, open_timeout=1.5)


def photo(path: Path = OBAMA) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


def scene(scenario: str = "live", size: Tuple[int, int] = (640, 480)) -> FaceScene:
    return FaceScene(scenario, photo(), OBAMA_BOX, size)


@contextlib.asynccontextmanager
async def simulator(
    scenario: str = "live", *, fps: float = 30.0, size: Tuple[int, int] = (640, 480)
) -> AsyncIterator[CameraSimulator]:
    sim = CameraSimulator(SceneSource(scene(scenario, size), seed=1), fps=fps)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def control(url: str, **fields: str) -> Dict[str, object]:
    """``POST /control`` as a test script or an integrator would."""
    async with aiohttp.ClientSession() as session, session.post(
        f"{url}/control", data=fields
    ) as response:
        assert response.status == 200, await response.text()
        state: Dict[str, object] = await response.json()
        return state


class Camera:
    """A real :class:`CameraDriver` for one role, run by a real supervisor."""

    def __init__(
        self, port: str, role: str = "face_camera_rgb", settings: CameraSettings = FAST
    ) -> None:
        self.bus = EventBus()
        self.hub = CameraHub()
        self.states: List[CameraStateChanged] = []
        self.changed = asyncio.Event()
        self.bus.subscribe(CameraStateChanged, self._on_state)
        self.supervisor = Supervisor(self.bus, Backoff(0.05, 0.3), stop_timeout=4.0)
        self.driver = CameraDriver(
            DeviceSpec(f"{role}@{port}", role, port), self.bus, lambda: settings, self.hub
        )
        self.supervisor.add(self.driver)
        self.role = role

    def _on_state(self, event: CameraStateChanged) -> None:
        self.states.append(event)
        self.changed.set()

    async def start(self) -> None:
        self.supervisor.launch(self.driver.name)
        await self.state_becomes("ready")

    async def stop(self) -> None:
        await self.supervisor.stop_all()

    def mark(self) -> int:
        """A point in the state history: ``state_becomes(…, since=mark)`` looks after it."""
        return len(self.states)

    async def state_becomes(
        self, state: str, *, since: int = 0, timeout: float = 10.0
    ) -> CameraStateChanged:
        """The first ``state`` the driver published from ``since`` on, waiting for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.states[since:]:
                if event.state == state:
                    return event
            self.changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{self.role}: never {state}; states: {self.states}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


@contextlib.asynccontextmanager
async def binocular(sim: CameraSimulator) -> AsyncIterator[Tuple[Camera, Camera]]:
    """Real drivers of the simulator's colour and IR cameras, started; stopped after."""
    rgb = Camera(sim.urls()["face_camera_rgb"])
    ir = Camera(sim.urls()["face_camera_ir"], "face_camera_ir")
    await rgb.start()
    await ir.start()
    try:
        yield rgb, ir
    finally:
        await rgb.stop()
        await ir.stop()


class SimProcess:
    """``govkioskctl sim camera …`` as a child process."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, banner: str) -> None:
        self.proc = proc
        self.url = url
        self.banner = banner

    @classmethod
    async def start(cls, *args: str, port: int = 0) -> SimProcess:
        ctl = Path(sys.executable).with_name("govkioskctl")
        proc = await asyncio.create_subprocess_exec(
            str(ctl),
            "sim",
            "camera",
            "--port",
            str(port),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        banner = ""
        while "control:" not in banner:  # the last line it prints
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            if not line:
                raise AssertionError("the simulator exited:\n" + banner)
            banner += line
        first = banner.splitlines()[0]
        assert first.startswith("camera simulator at "), banner
        return cls(proc, first.split()[-1], banner)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
