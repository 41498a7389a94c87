"""``[camera]`` with every bad key named, and cameras found through ``[[devices.static]]``: the
device layer's hub and the camera roles' drivers, in the daemon as it is built."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from govkiosk.api.devices import DRIVERS, WithCameras
from govkiosk.app import Daemon
from govkiosk.config import load_config
from govkiosk.devices.camera.capture import Capture, source_of
from govkiosk.devices.camera.errors import CameraError
from govkiosk.devices.camera.settings import DOC, FACE_IR, FACE_RGB, CameraSettings, Mode
from govkiosk.devices.spec import shown
from govkiosk.tables import ConfigError
from harness.camera import simulator
from harness.dbus import PrivateBus
from harness.eventually import eventually


def problems(tmp_path: Path, camera: str) -> List[str]:
    path = tmp_path / "govkiosk.toml"
    path.write_text(f'[kiosk]\nid = "hlj-0001"\n[camera]\n{camera}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_defaults_and_the_mode_of_each_role(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text('[kiosk]\nid = "hlj-0001"\n[camera]\ndoc_fps = 10\nstall_after = 1.5\n')
    camera = load_config(path).camera
    assert camera == CameraSettings(doc_fps=10, stall_after=1.5)
    assert camera.mode_for(FACE_RGB) == camera.mode_for(FACE_IR) == Mode(640, 480, 30, "MJPG")
    assert camera.mode_for(DOC) == Mode(1920, 1080, 10, "MJPG")
    assert (camera.queue_depth, camera.open_timeout) == (2, 5.0)


def test_each_bad_key_is_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        'face_fps = 0\nfourcc = "MJPEG"\nqueue_depth = 0\ndoc_width = 99999\nstall_after = -1',
    )
    assert (
        "govkiosk.toml: camera.face_fps: expected frames per second between 1 and 120, got 0"
        in found
    )
    assert any(
        p.startswith("govkiosk.toml: camera.fourcc: expected four ASCII characters") for p in found
    )
    assert any(p.startswith("govkiosk.toml: camera.queue_depth:") for p in found)
    assert any(p.startswith("govkiosk.toml: camera.doc_width:") for p in found)
    assert any(
        p.startswith("govkiosk.toml: camera.stall_after: expected a number of seconds > 0")
        for p in found
    )


def test_the_camera_roles_are_handed_the_hub() -> None:
    for role in (FACE_RGB, FACE_IR, DOC):
        assert isinstance(DRIVERS[role], WithCameras)
    assert not isinstance(DRIVERS["ups"], WithCameras)


async def test_static_cameras_reach_the_hub_of_the_daemon(
    tmp_path: Path, private_bus: PrivateBus
) -> None:
    async with simulator() as sim:
        urls = sim.urls()
        path = tmp_path / "govkiosk.toml"
        path.write_text(
            '[kiosk]\nid = "hlj-0001"\n[camera]\nstall_after = 1.0\n'
            + "".join(
                f'[[devices.static]]\nrole = "{role}"\nport = "{urls[role]}"\n'
                for role in (FACE_RGB, FACE_IR)
            ),
            encoding="utf-8",
        )
        daemon = Daemon(
            path, load_config(path), tmp_path / "state", bus_address=private_bus.address
        )
        await daemon.runtime.store.open()
        try:
            await daemon.supervisor.start_all()
            hub = daemon.devices.cameras

            def both_ready() -> bool:
                return {c.role: c.state for c in hub.cameras()} == {
                    FACE_IR: "ready",
                    FACE_RGB: "ready",
                }

            # READY=1 does not wait for cameras (they report their own readiness)
            await eventually(both_ready, "both cameras ready", 30.0)
            assert hub.roles() == [FACE_IR, FACE_RGB]
            rows = {r["role"]: r for r in daemon.devices.registry.rows()}
            assert rows[FACE_RGB]["driver"] == "running"
            assert rows[FACE_RGB]["port"] == urls[FACE_RGB]
            assert {c.role: c.state for c in hub.cameras()} == {FACE_IR: "ready", FACE_RGB: "ready"}
            frame = await hub.grab(FACE_IR, 5)
            assert frame.image.shape == (480, 640, 3)
            assert frame.role == FACE_IR
            health = {h.name: h.state.value for h in daemon.supervisor.health()}
            assert health[f"{FACE_RGB}@{urls[FACE_RGB]}"] == "running"
        finally:
            await daemon.supervisor.stop_all()
            await daemon.devices.close()
            await daemon.runtime.store.close()
        assert hub.roles() == []


def test_a_password_in_a_port_stays_out_of_the_device_id_and_the_camera_errors() -> None:
    assert shown("nut://mon:secret@127.0.0.1:3493/ups") == "nut://127.0.0.1:3493/ups"
    assert shown("rtsp://admin:pw@10.0.0.5/stream") == "rtsp://10.0.0.5/stream"
    assert shown("socket://127.0.0.1:9100") == "socket://127.0.0.1:9100"
    assert shown("/dev/video0") == "/dev/video0"
    port = "http://admin:secret@127.0.0.1:9/rgb"  # nothing listens on the discard port
    mode = CameraSettings().mode_for(FACE_RGB)
    with pytest.raises(CameraError) as refused:
        Capture(source_of(port), mode, open_timeout=0.5, read_timeout=0.5)
    assert "cannot be opened" in str(refused.value)
    assert "secret" not in str(refused.value)
