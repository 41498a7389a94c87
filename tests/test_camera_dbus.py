"""``cn.govkiosk.Cameras1`` on a private bus with a real driver and the simulator behind it, and
``govkioskctl camera list`` / ``snapshot`` against it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, List, Tuple

import cv2
import numpy as np
import pytest
from dbus_next.errors import DBusError

from govkiosk.api.camera import CamerasInterface
from govkiosk.contract.connection import close, connect, plain
from govkiosk.contract.names import (
    BUS_NAME,
    CAMERA_BUSY_ERROR,
    CAMERA_UNAVAILABLE_ERROR,
    CAMERAS_INTERFACE,
    OBJECT_PATH,
)
from govkiosk.dbus.service import DBusService
from harness.camera import FAST, Camera, simulator
from harness.dbus import PrivateBus
from harness.eventually import eventually


async def ctl(address: str, *args: str) -> Tuple[int, str, str]:
    program = Path(sys.executable).with_name("govkioskctl")
    proc = await asyncio.create_subprocess_exec(
        str(program),
        "--bus",
        address,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_list_snapshot_busy_refusal_and_state_signals(
    private_bus: PrivateBus, tmp_path: Path
) -> None:
    async with simulator() as sim:
        camera = Camera(sim.urls()["face_camera_rgb"])
        session_in_progress = [False]
        interface = CamerasInterface(
            camera.hub, camera.bus, lambda: FAST, busy=lambda: session_in_progress[0]
        )
        service = DBusService(private_bus.address)
        service.export(interface)
        await service.start()
        client = await connect(private_bus.address)
        try:
            proxy = client.get_proxy_object(
                BUS_NAME, OBJECT_PATH, await client.introspect(BUS_NAME, OBJECT_PATH)
            )
            cameras = proxy.get_interface(CAMERAS_INTERFACE)
            signals: asyncio.Queue[List[str]] = asyncio.Queue()
            cameras.on_state_changed(lambda r, i, s, d: signals.put_nowait([r, i, s, d]))
            assert await cameras.call_list_cameras() == []
            with pytest.raises(DBusError) as unavailable:
                await cameras.call_snapshot("face_camera_rgb")
            assert unavailable.value.type == CAMERA_UNAVAILABLE_ERROR
            assert unavailable.value.text == "no face_camera_rgb camera is configured or found"

            await camera.start()
            role, device_id, state, detail = await asyncio.wait_for(signals.get(), 5)
            assert (role, device_id, state) == ("face_camera_rgb", camera.driver.name, "ready")
            assert detail.startswith("640x480")
            rows: List[Any] = plain(await cameras.call_list_cameras())
            assert rows == [
                {
                    "role": "face_camera_rgb",
                    "id": camera.driver.name,
                    "port": sim.urls()["face_camera_rgb"],
                    "state": "ready",
                    "detail": detail,
                    "resolution": "640x480",
                    "fps": 0.0,  # a network stream does not say its rate
                    "measured_fps": 0.0,
                }
            ]

            jpeg = await cameras.call_snapshot("face_camera_rgb")
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (480, 640, 3)
            assert image.std() > 10  # a scene, not a blank
            assert [s[2] for s in [await asyncio.wait_for(signals.get(), 5) for _ in range(2)]] == [
                "streaming",
                "ready",
            ]

            await eventually(lambda: not camera.driver.capturing, "the snapshot's capture ends")
            session_in_progress[0] = True
            with pytest.raises(DBusError) as busy:
                await cameras.call_snapshot("face_camera_rgb")
            assert busy.value.type == CAMERA_BUSY_ERROR
            assert "citizen's session is in progress" in busy.value.text
            assert not camera.driver.capturing  # refused before the camera was touched

            # The command line, as an integrator runs it at installation.
            code, out, err = await ctl(
                private_bus.address,
                "camera",
                "snapshot",
                "face_camera_rgb",
                "--out",
                str(tmp_path / "busy.jpg"),
            )
            assert (code, out) == (1, "")
            assert "session is in progress" in err
            assert not (tmp_path / "busy.jpg").exists()
            session_in_progress[0] = False
            code, out, err = await ctl(
                private_bus.address,
                "camera",
                "snapshot",
                "face_camera_rgb",
                "--out",
                str(tmp_path / "shot.jpg"),
            )
            assert code == 0, err
            assert out.startswith("face_camera_rgb: ")
            shot = cv2.imread(str(tmp_path / "shot.jpg"))
            assert shot.shape == (480, 640, 3)

            code, out, err = await ctl(private_bus.address, "camera", "list", "--json")
            assert code == 0, err
            listed = json.loads(out)
            assert listed["daemon"] == "ok"
            assert [(c["role"], c["state"], c["resolution"]) for c in listed["cameras"]] == [
                ("face_camera_rgb", "ready", "640x480")
            ]
            assert isinstance(listed["v4l2"], list)  # none on this machine; udev was read
            assert listed["udev"] == "ok"
            code, out, err = await ctl(private_bus.address, "camera", "list")
            assert code == 0, err
            assert out.splitlines()[0].split() == [
                "ROLE",
                "ID",
                "STATE",
                "RESOLUTION",
                "FPS",
                "DETAIL",
            ]
            assert out.splitlines()[1].split()[:4] == [
                "face_camera_rgb",
                camera.driver.name,
                "ready",
                "640x480",
            ]

            mark = camera.mark()
            await camera.stop()
            await camera.state_becomes("gone", since=mark)
            row = plain(await cameras.call_list_cameras())[0]
            assert (row["state"], row["detail"]) == ("gone", "driver stopped")
        finally:
            await camera.stop()
            interface.close()
            await close(client)
            await service.stop()


async def test_camera_list_without_a_daemon_says_so(tmp_path: Path) -> None:
    code, out, err = await ctl(f"unix:path={tmp_path}/none", "camera", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["cameras"] == []
    assert listed["daemon"].startswith(f"cannot reach the unix:path={tmp_path}/none bus")
    code, out, err = await ctl(
        f"unix:path={tmp_path}/none",
        "camera",
        "snapshot",
        "doc_camera",
        "--out",
        str(tmp_path / "x.jpg"),
    )
    assert code == 69
    assert "cannot reach" in err


async def test_camera_list_on_a_bus_without_the_daemon(private_bus: PrivateBus) -> None:
    code, out, err = await ctl(private_bus.address, "camera", "list")
    assert code == 0, err
    assert out.startswith("daemon: the daemon is not running")
