"""Fault matrix: the document camera (高拍仪; the camera simulator over HTTP) gone while
the citizen is placing a page, or its capture worker process killed. The citizen reads that
the camera is not working and may retry; with the camera back, the retry captures the page
and the session goes on. The daemon never goes down with a camera."""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import signal
from pathlib import Path

from govkiosk.devices.camera.events import CameraStateChanged
from govkiosk.items.catalogue import DEFAULT_CATALOGUE
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import kiosk

REPO = Path(__file__).resolve().parents[1]
ITEM = "remote_medical_filing"  # demo-items.toml: one page of paper material


async def test_the_document_camera_gone_mid_capture_fails_clearly_and_the_retry_captures(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + (
        REPO / "config" / "demo-items.toml"
    ).read_text(encoding="utf-8")
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        await k.items.call_sync("office", catalogue, "demo-items.toml")
        sid = await k.session.call_start_session(ITEM, "zh_CN")
        await k.until(step="identity", state="waiting")
        await k.card()
        await k.until(step="identity", choices=["confirm", "cancel"])
        await k.session.call_choose(sid, "confirm")
        await k.until(step="consent", state="waiting")
        await k.session.call_choose(sid, "agree")
        # Aiming: the camera freezes (no page can settle), then its cable is pulled.
        await k.until(step="capture_materials", camera="document", choices=["capture", "cancel"])
        k.camera.control({"action": "stall"})
        hub = k.daemon.devices.cameras
        with k.daemon.bus.stream(CameraStateChanged) as states:
            k.camera.control({"action": "unplug"})
            state = await k.until(step="capture_materials", state="failed")
            assert (state["error_code"], state["choices"]) == (
                "capture.camera_lost",
                ["retry", "cancel"],
            )
            assert "高拍仪" in state["message"]
            assert state["staff_code"]
            assert k.department.attachments == []  # nothing half-captured went anywhere
            k.camera.control({"action": "plug"})
            k.camera.control({"action": "resume"})
            while not hub.available("doc_camera"):
                await states.get()
        await k.session.call_choose(sid, "retry")
        await k.until(step="capture_materials", choices=["accept", "retake", "cancel"])
        await k.session.call_choose(sid, "accept")
        await k.until(step="preview", state="waiting")
        [(material, number, kind, size)] = k.department.attachments
        assert (material, number, kind) == ("异地居住证明或工作证明", 1, "application/pdf")
        assert size > 10_000
        await k.session.call_cancel(sid)


def _capture_worker(role: str) -> multiprocessing.process.BaseProcess:
    """The daemon's capture worker process for the camera of ``role`` (the daemon runs in
    this process here, so its workers are this process's children)."""
    [worker] = [
        p
        for p in multiprocessing.active_children()
        if p.name.startswith(f"govkiosk-camera {role}@")
    ]
    return worker


async def test_the_capture_worker_killed_mid_capture_is_a_camera_fault_not_a_crash(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + (
        REPO / "config" / "demo-items.toml"
    ).read_text(encoding="utf-8")
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        await k.items.call_sync("office", catalogue, "demo-items.toml")
        sid = await k.session.call_start_session(ITEM, "zh_CN")
        await k.until(step="identity", state="waiting")
        await k.card()
        await k.until(step="identity", choices=["confirm", "cancel"])
        await k.session.call_choose(sid, "confirm")
        await k.until(step="consent", state="waiting")
        await k.session.call_choose(sid, "agree")
        await k.until(step="capture_materials", camera="document", choices=["capture", "cancel"])
        k.camera.control({"action": "stall"})  # no page settles while the worker is killed
        worker = _capture_worker("doc_camera")
        hub = k.daemon.devices.cameras
        with k.daemon.bus.stream(CameraStateChanged) as states:
            os.kill(worker.pid or 0, signal.SIGKILL)
            state = await k.until(step="capture_materials", state="failed")
            assert (state["error_code"], state["choices"]) == (
                "capture.camera_lost",
                ["retry", "cancel"],
            )
            assert "高拍仪" in state["message"]
            assert k.department.attachments == []
            k.camera.control({"action": "resume"})
            while not hub.available("doc_camera"):  # the driver restarts with a new worker
                await states.get()
        assert _capture_worker("doc_camera").pid != worker.pid
        await k.session.call_choose(sid, "retry")
        await k.until(step="capture_materials", choices=["accept", "retake", "cancel"])
        await k.session.call_choose(sid, "accept")
        await k.until(step="preview", state="waiting")
        [(material, number, kind, _)] = k.department.attachments
        assert (material, number, kind) == ("异地居住证明或工作证明", 1, "application/pdf")
        await k.session.call_cancel(sid)
