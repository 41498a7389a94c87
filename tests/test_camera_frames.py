"""The frame queue between a capture thread and the loop: bounded, drop-oldest, latched
failures; and which port means which OpenCV source."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Dict, List

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.camera import scenes
from govkiosk.devices.camera.capture import FILE, STREAM, V4L2, fourcc_code, fourcc_text, source_of
from govkiosk.devices.camera.errors import CameraError, CameraLost, FrameTimeout
from govkiosk.devices.camera.frames import Frame, FrameQueue, FrameStream, encode_jpeg
from govkiosk.devices.camera.sim import CameraSimulator, SceneSource

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(seq: int) -> Frame:
    return Frame(IMAGE, seq, time.monotonic(), "face_camera_rgb")


async def test_a_reader_that_falls_behind_gets_the_newest_frames() -> None:
    queue = FrameQueue(2)
    for seq in range(1, 11):
        queue.put(frame(seq))
    assert len(queue) == 2
    assert [(await queue.get(0)).seq for _ in range(2)] == [9, 10]
    assert (queue.dropped, queue.delivered, queue.newest.seq if queue.newest else 0) == (8, 10, 10)


async def test_frames_from_a_thread_reach_a_slow_reader_newest_first_and_drops_are_counted() -> (
    None
):
    queue = FrameQueue(2)
    produced = 200

    def capture() -> None:  # a camera at ~1000 fps
        for seq in range(1, produced + 1):
            queue.put_threadsafe(frame(seq))
            time.sleep(0.001)

    thread = threading.Thread(target=capture)
    thread.start()
    seen: List[int] = []
    while not seen or seen[-1] < produced:
        seen.append((await queue.get(5.0)).seq)
        await asyncio.sleep(0.01)  # a reader that needs 10 ms a frame (a face detector)
    thread.join()
    assert seen == sorted(set(seen))  # never a frame twice, never out of order
    assert seen[-1] == produced  # the newest frame always arrives
    assert queue.dropped > produced / 4  # far slower than the camera
    assert queue.dropped + len(seen) == produced


async def test_a_failure_reaches_a_waiting_reader_at_once_and_stays() -> None:
    queue = FrameQueue(2)
    stream = FrameStream("face_camera_rgb", "face_camera_rgb@x", queue)
    queue.put(frame(1))
    waiting = asyncio.ensure_future(stream.next(30))
    assert (await waiting).seq == 1
    waiting = asyncio.ensure_future(stream.next(30))
    await asyncio.sleep(0)
    started = time.monotonic()
    queue.fail(CameraLost("the face_camera_rgb camera is stalled"))
    with pytest.raises(CameraLost, match="stalled"):
        await waiting
    assert time.monotonic() - started < 0.5
    queue.put(frame(2))  # a late frame changes nothing
    with pytest.raises(CameraLost):
        await stream.next(1)
    assert stream.lost
    latest = stream.latest()
    assert latest is not None
    assert latest.seq == 1


async def test_a_reader_timeout_is_a_frame_timeout_naming_the_role() -> None:
    stream = FrameStream("doc_camera", "doc_camera@x", FrameQueue(1))
    assert stream.latest() is None
    with pytest.raises(FrameTimeout, match=r"doc_camera: no frame within 0\.05 s"):
        await stream.next(0.05)
    assert issubclass(FrameTimeout, CameraLost)


@given(st.lists(st.one_of(st.just("get"), st.integers(1, 5)), max_size=60), st.integers(1, 4))
def test_the_queue_never_holds_more_than_its_depth_and_loses_only_the_oldest(
    steps: List[object], depth: int
) -> None:
    async def run() -> None:
        queue = FrameQueue(depth)
        seq, taken = 0, []
        for step in steps:
            if step == "get":
                if len(queue):
                    taken.append((await queue.get(0)).seq)
                continue
            for _ in range(int(str(step))):
                seq += 1
                queue.put(frame(seq))
                assert len(queue) <= depth
        rest = [(await queue.get(0)).seq for _ in range(len(queue))]
        assert taken + rest == sorted(taken + rest)
        if seq:
            assert (rest or taken)[-1] == seq
        assert queue.dropped + len(taken) + len(rest) == seq

    asyncio.run(run())


def test_ports_name_their_source() -> None:
    assert source_of("/dev/video0") == source_of("/dev/video0")
    assert (source_of("/dev/video2").kind, source_of("/dev/video2").api) == (V4L2, cv2.CAP_V4L2)
    http = source_of("http://127.0.0.1:8081/rgb")
    assert (http.kind, http.target, http.api) == (
        STREAM,
        "http://127.0.0.1:8081/rgb",
        cv2.CAP_FFMPEG,
    )
    images = source_of("file:///srv/clips/img_%03d.png")
    assert (images.kind, images.target, images.api) == (
        FILE,
        "/srv/clips/img_%03d.png",
        cv2.CAP_IMAGES,
    )
    assert images.paced
    assert source_of("file:///srv/clips/face.avi").api == cv2.CAP_FFMPEG
    with pytest.raises(CameraError, match="absolute path"):
        source_of("file://clips/face.avi")
    with pytest.raises(CameraError, match="not a camera port"):
        source_of("socket://127.0.0.1:9100")


@given(st.text(max_size=80))
def test_any_port_is_a_source_or_a_camera_error(port: str) -> None:
    try:
        source = source_of(port)
    except CameraError as err:
        message = str(err)
        assert message
    else:
        assert source.kind in (V4L2, STREAM, FILE)
        assert source.target


def test_snapshots_encode_as_jpeg() -> None:
    image = np.full((48, 64, 3), (10, 120, 240), np.uint8)
    data = encode_jpeg(image)
    assert data[:2] == b"\xff\xd8"
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (48, 64, 3)
    assert np.abs(decoded.astype(int) - image).max() < 8


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=4, max_size=4))
def test_fourcc_codes_round_trip(text: str) -> None:
    assert fourcc_code(text) == cv2.VideoWriter.fourcc(*text)
    assert fourcc_text(fourcc_code(text)) == text


@given(
    st.dictionaries(
        st.sampled_from(["scenario", "action", "other"]),
        st.one_of(
            st.sampled_from(["live", "photo", "stall", "resume", "unplug", "plug"]),
            st.text(max_size=8),
        ),
    )
)
def test_the_simulator_control_takes_known_fields_or_says_what_is_wrong(
    fields: Dict[str, str],
) -> None:
    sim = CameraSimulator(SceneSource(scenes.FaceScene("nobody", IMAGE, (0, 0, 4, 4))))
    before = sim.state()
    try:
        sim.control(fields)
    except ValueError as err:
        message = str(err)
        assert "scenario" in message or "unknown action" in message
        assert sim.state()["stalled"] == before["stalled"]
        assert sim.state()["unplugged"] == before["unplugged"]
        return
    state = sim.state()
    assert state["scenario"] == fields.get("scenario", "nobody")
    assert state["stalled"] == (fields.get("action") == "stall")
    assert state["unplugged"] == (fields.get("action") == "unplug")
