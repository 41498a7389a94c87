"""The real camera driver reading the MJPEG simulator through OpenCV's FFmpeg backend, under a
real supervisor: capture only while streams are held, stalls and vanishings as CameraLost
(never a hang), and recovery when the camera is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest

from govkiosk.devices.camera.driver import CameraDriver
from govkiosk.devices.camera.errors import CameraError, CameraLost, CameraUnavailable
from govkiosk.devices.camera.frames import Frame, FrameStream
from govkiosk.devices.camera.hub import CameraHub
from govkiosk.devices.spec import DeviceSpec
from harness.camera import FAST, Camera, SimProcess, binocular, control, simulator
from harness.eventually import eventually
from harness.process import free_port


async def read_until_lost(stream: FrameStream) -> None:
    while True:
        await stream.next()  # no timeout: the driver's watchdog bounds the wait


#: How late past ``stall_after`` a reader may hear of a stall: the watchdog's wake-up and
#: the hand-over to the loop, with room for a loaded machine.
MARGIN = 1.0


async def test_frames_flow_only_while_a_stream_is_held_and_streams_share_one_capture() -> None:
    async with simulator() as sim:
        camera = Camera(sim.urls()["face_camera_rgb"])
        await camera.start()
        try:
            ready = camera.states[-1]
            assert (ready.role, ready.state) == ("face_camera_rgb", "ready")
            assert ready.detail.startswith("640x480")
            assert camera.hub.available("face_camera_rgb")
            # Started: the camera was opened once and released; an idle kiosk captures nothing.
            assert not camera.driver.capturing
            assert camera.driver.worker.starts == 1  # the probe's capture process
            await eventually(  # the probe's connection: seen closed at the next frame
                lambda: sim.state()["readers"] == {"face": 0, "doc": 0}, "the probe leaves"
            )

            async with camera.hub.stream("face_camera_rgb") as first:
                frames = [await first.next(5) for _ in range(5)]
                assert [f.seq for f in frames] == sorted({f.seq for f in frames})
                assert frames[0].image.shape == (480, 640, 3)
                assert frames[0].image.dtype == np.uint8
                assert frames[0].role == "face_camera_rgb"
                async with camera.hub.stream("face_camera_rgb") as second:
                    mine = await second.next(5)
                    assert camera.driver.worker.starts == 1  # one process, one capture
                    assert sim.state()["readers"] == {"face": 1, "doc": 0}
                    theirs = await first.next(5)
                    assert theirs.seq >= mine.seq  # one capture, one numbering
                    await camera.state_becomes("streaming")
                latest = second.latest()  # kept after the stream closed; never waits
                assert latest is not None
                assert latest.seq >= mine.seq
            # The last stream left: capture stops, the camera is ready again.
            assert camera.states[-1].state == "ready"
            await eventually(lambda: not camera.driver.capturing, "the capture run ends")
            await eventually(
                lambda: sim.state()["readers"] == {"face": 0, "doc": 0}, "the sim loses its reader"
            )
            info = camera.hub.info("face_camera_rgb")
            assert info is not None
            assert (info.resolution, info.state) == ("640x480", "ready")
        finally:
            await camera.stop()
        assert camera.states[-1].state == "gone"
        assert not camera.hub.available("face_camera_rgb")


async def test_the_ir_stream_is_grey_and_in_lockstep_with_rgb() -> None:
    async with simulator("live") as sim, binocular(sim) as (rgb, ir):
        async with rgb.hub.stream("face_camera_rgb") as colour, ir.hub.stream(
            "face_camera_ir"
        ) as infrared:
            colour_frame = await colour.next(5)
            ir_frame = await infrared.next(5)
            # OpenCV decodes every JPEG to BGR; an IR frame has three equal channels.
            b, g, r = cv2.split(ir_frame.image)
            assert np.array_equal(b, g)
            assert np.array_equal(g, r)
            assert not np.array_equal(colour_frame.image[..., 0], colour_frame.image[..., 2])
        frames = sim.state()["frames"]
        assert isinstance(frames, dict)
        assert frames["rgb"] == frames["ir"]  # one scene, both rendered per instant


async def test_a_slow_reader_gets_recent_frames_and_the_drops_are_counted() -> None:
    async with simulator(fps=30) as sim:
        camera = Camera(sim.urls()["face_camera_rgb"])
        await camera.start()
        try:
            async with camera.hub.stream("face_camera_rgb") as frames:
                await frames.next(5)
                started = time.monotonic()
                while frames.dropped < 5:  # a reader busy for 0.1 s per frame
                    await frames.next(5)
                    await asyncio.sleep(0.1)
                    assert time.monotonic() - started < 10
                newest = await frames.next(5)
                assert time.monotonic() - newest.at < 0.2  # at most a frame or two old
        finally:
            await camera.stop()


async def test_a_stall_fails_every_stream_within_the_bound_and_the_camera_recovers() -> None:
    async with simulator() as sim:
        camera = Camera(sim.urls()["face_camera_rgb"])
        await camera.start()
        try:
            async with camera.hub.stream("face_camera_rgb") as a, camera.hub.stream(
                "face_camera_rgb"
            ) as b:
                await a.next(5)
                await b.next(5)
                mark = camera.mark()
                await control(sim.url, action="stall")
                stalled_at = time.monotonic()
                with pytest.raises(CameraLost, match="stalled"):
                    await read_until_lost(a)
                heard = time.monotonic() - stalled_at
                assert heard < FAST.stall_after + MARGIN
                with pytest.raises(CameraLost):
                    await b.next(0.1)
                event = await camera.state_becomes("stalled", since=mark)
                assert event.detail == f"no frame for {FAST.stall_after:g} s"
            # Lost: refused at once while the supervisor reopens it.
            with pytest.raises(CameraUnavailable, match="face_camera_rgb"):
                async with camera.hub.stream("face_camera_rgb"):
                    pass
            mark = camera.mark()
            await control(sim.url, action="resume")
            await camera.state_becomes("ready", since=mark)
            async with camera.hub.stream("face_camera_rgb") as again:
                assert (await again.next(5)).seq >= 1
        finally:
            await camera.stop()


async def test_an_unplugged_camera_is_gone_and_comes_back_when_plugged() -> None:
    async with simulator() as sim:
        camera = Camera(sim.urls()["face_camera_rgb"])
        await camera.start()
        try:
            async with camera.hub.stream("face_camera_rgb") as frames:
                await frames.next(5)
                mark = camera.mark()
                await control(sim.url, action="unplug")
                with pytest.raises(CameraLost, match="gone"):
                    await frames.next(FAST.stall_after + MARGIN)
            gone = await camera.state_becomes("gone", since=mark)
            assert gone.detail == "the stream ended or broke off"
            assert not camera.hub.available("face_camera_rgb")
            mark = camera.mark()
            await control(sim.url, action="plug")
            await camera.state_becomes("ready", since=mark)
            assert (await camera.hub.grab("face_camera_rgb", 5)).image.shape == (480, 640, 3)
        finally:
            await camera.stop()


async def test_the_simulator_process_killed_and_started_again() -> None:
    sim = await SimProcess.start("--scenario", "nobody")
    camera = Camera(f"{sim.url}/rgb")
    try:
        assert f'port = "{sim.url}/rgb"' in sim.banner
        await camera.start()
        async with camera.hub.stream("face_camera_rgb") as frames:
            await frames.next(5)
            mark = camera.mark()
            await sim.kill()
            with pytest.raises(CameraLost):  # after the frames already on their way, if any
                await read_until_lost(frames)
        await camera.state_becomes("gone", since=mark)
        mark = camera.mark()
        sim = await SimProcess.start("--scenario", "nobody", port=sim.port)
        await camera.state_becomes("ready", since=mark, timeout=20)
        frame = await camera.hub.grab("face_camera_rgb", 5)
        assert frame.image.shape == (480, 640, 3)
    finally:
        await camera.stop()
        await sim.kill()


async def test_a_camera_that_is_not_there_fails_to_start_and_says_why() -> None:
    camera = Camera(f"http://127.0.0.1:{free_port()}/rgb")
    driver = camera.driver
    with pytest.raises(CameraError, match="cannot be opened"):
        await driver.start()
    assert camera.states[-1].state == "gone"
    with pytest.raises(CameraUnavailable, match=r"face_camera_rgb camera \(.*\) is not available"):
        async with camera.hub.stream("face_camera_rgb"):
            pass
    with pytest.raises(CameraUnavailable, match="no doc_camera camera is configured or found"):
        await CameraHub().grab("doc_camera")


async def test_recordings_stand_in_for_a_camera_paced_and_looping(tmp_path: Path) -> None:
    for number in range(3):
        image = np.full((120, 160, 3), 60 * (number + 1), np.uint8)
        assert cv2.imwrite(str(tmp_path / f"img_{number:03d}.png"), image)
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (160, 120))
    for number in range(4):
        writer.write(np.full((120, 160, 3), 50 * (number + 1), np.uint8))
    writer.release()
    for port, count in ((f"file://{tmp_path}/img_%03d.png", 3), (f"file://{video}", 4)):
        camera = Camera(port, "doc_camera")
        await camera.start()
        try:
            async with camera.hub.stream("doc_camera") as frames:
                got: List[Frame] = [await frames.next(5) for _ in range(2 * count + 1)]
            levels = [int(f.image.mean()) for f in got]
            assert levels[count : 2 * count] == levels[:count]  # it loops
            assert len(set(levels[:count])) == count
            rate = (len(got) - 1) / (got[-1].at - got[0].at)
            assert rate < FAST.doc_fps * 1.5  # paced, not as fast as the disk reads
        finally:
            await camera.stop()


async def test_a_second_camera_for_a_role_is_refused_by_name() -> None:
    async with simulator() as sim:
        first = Camera(sim.urls()["face_camera_rgb"])
        await first.start()
        second = CameraDriver(
            DeviceSpec("face_camera_rgb@other", "face_camera_rgb", sim.urls()["face_camera_ir"]),
            first.bus,
            lambda: FAST,
            first.hub,
        )
        try:
            with pytest.raises(CameraError, match=r"another face_camera_rgb camera .* is in use"):
                await second.start()
            assert first.hub.available("face_camera_rgb")
            assert (await first.hub.grab("face_camera_rgb", 5)).image.shape == (480, 640, 3)
            info = {c.id: c.state for c in first.hub.cameras()}
            assert info == {first.driver.name: "ready", "face_camera_rgb@other": "gone"}
        finally:
            await second.stop()
            await first.stop()
