"""``cn.govkiosk.Cameras1``: the cameras' state, and a snapshot for the integrator.

``ListCameras`` gives every camera a driver has reported (role, id, port, state, detail,
resolution, fps, measured_fps); ``StateChanged(role, id, state, detail)`` follows them.
``Snapshot(role)`` returns one JPEG — for mounting and focusing a camera at installation.
A face camera sees citizens, so a snapshot is refused while a citizen's session is in
progress (§8 d): the wiring hands the interface a ``busy`` callable (it can be set later
through :attr:`CamerasInterface.busy`). Images are never logged or kept.
"""

import asyncio
from typing import Callable, Dict, List

from dbus_next import Variant
from dbus_next.service import ServiceInterface, method, signal

from ..bus import EventBus
from ..contract.names import CAMERAS_INTERFACE
from ..dbus import guarded
from ..devices.camera.errors import CameraBusy
from ..devices.camera.events import CameraStateChanged
from ..devices.camera.frames import encode_jpeg
from ..devices.camera.hub import CameraHub, CameraInfo
from ..devices.camera.settings import CameraSettings
from ..runtime import Runtime

#: JPEG quality of a snapshot: enough to judge focus and framing.
SNAPSHOT_QUALITY = 90


def _never() -> bool:
    return False


def camera_row(info: CameraInfo) -> Dict[str, Variant]:
    return {
        "role": Variant("s", info.role),
        "id": Variant("s", info.id),
        "port": Variant("s", info.port),
        "state": Variant("s", info.state),
        "detail": Variant("s", info.detail),
        "resolution": Variant("s", info.resolution),
        "fps": Variant("d", float(info.fps)),
        "measured_fps": Variant("d", float(info.measured_fps)),
    }


class CamerasInterface(ServiceInterface):
    def __init__(
        self,
        hub: CameraHub,
        bus: EventBus,
        settings: Callable[[], CameraSettings],
        busy: Callable[[], bool] = _never,
    ) -> None:
        super().__init__(CAMERAS_INTERFACE)
        self._hub = hub
        self._settings = settings
        #: True while a citizen's session is in progress: snapshots are refused.
        self.busy = busy
        self._unsubscribe = bus.subscribe(CameraStateChanged, self._on_state)

    def close(self) -> None:
        self._unsubscribe()

    def _on_state(self, event: CameraStateChanged) -> None:
        self.StateChanged(event.role, event.device_id, event.state, event.detail)

    @method()
    @guarded
    def ListCameras(self) -> "aa{sv}":
        rows: List[Dict[str, Variant]] = [camera_row(c) for c in self._hub.cameras()]
        return rows

    @method()
    @guarded
    async def Snapshot(self, role: "s") -> "ay":
        if self.busy():
            raise CameraBusy(
                "a citizen's session is in progress: camera snapshots are refused until it ends"
            )
        settings = self._settings()
        frame = await self._hub.grab(role, settings.open_timeout + settings.stall_after)
        if self.busy():  # a session began while the camera opened: the frame is discarded
            raise CameraBusy("a citizen's session began: the snapshot was discarded")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, encode_jpeg, frame.image, SNAPSHOT_QUALITY)

    @signal()
    def StateChanged(self, role: str, device_id: str, state: str, detail: str) -> "ssss":
        return [role, device_id, state, detail]


def install(runtime: Runtime, hub: CameraHub) -> CamerasInterface:
    """Export ``Cameras1`` for the device layer's hub; the caller may set ``busy`` later."""
    interface = CamerasInterface(hub, runtime.bus, lambda: runtime.config.camera)
    runtime.dbus.export(interface)
    return interface
