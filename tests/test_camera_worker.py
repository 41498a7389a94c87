"""The capture worker: the process that runs OpenCV for a camera, its messages, and what the
driver does when it exits (on purpose when idle, or killed mid-capture)."""

from __future__ import annotations

import os
import signal
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.devices.camera.errors import CameraLost
from govkiosk.devices.camera.frames import FrameStream
from govkiosk.devices.camera.settings import CameraSettings, Mode
from govkiosk.devices.camera.sources import Negotiated
from govkiosk.devices.camera.wire import (
    MAX_TEXT,
    Credit,
    Failed,
    FrameData,
    Message,
    Open,
    Opened,
    Stop,
    Stopped,
    WireError,
    decode,
    encode,
)
from harness.camera import FAST, Camera, simulator
from harness.eventually import eventually

U32 = st.integers(0, 2**32 - 1)
TEXT = st.text(max_size=80)
MODES = st.builds(
    Mode,
    st.integers(1, 8192),
    st.integers(1, 8192),
    st.integers(1, 120),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=4, max_size=4),
)
TIMEOUTS = st.floats(0.5, 600.0).map(lambda v: struct.unpack(">f", struct.pack(">f", v))[0])


@st.composite
def frames(draw: st.DrawFn) -> FrameData:
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    channels = draw(st.sampled_from((1, 3)))
    pixels = draw(st.binary(min_size=height * width * channels, max_size=height * width * channels))
    at = draw(st.floats(0, 1e9))
    return FrameData(draw(U32), draw(U32), at, height, width, channels, pixels)


MESSAGES = st.one_of(
    st.builds(Open, U32, TEXT, MODES, TIMEOUTS, TIMEOUTS, st.booleans(), st.integers(1, 64)),
    st.builds(Stop, U32),
    st.builds(Credit, U32, st.integers(0, 65535)),
    st.builds(
        Opened,
        U32,
        st.builds(
            Negotiated,
            st.integers(0, 8192),
            st.integers(0, 8192),
            st.sampled_from((0.0, 15.0, 29.97, 30.0)),
            st.sampled_from(("", "MJPG", "YUYV")),
            TEXT,
        ),
        st.booleans(),
    ),
    frames(),
    st.builds(Failed, U32, TEXT),
    st.builds(Stopped, U32),
)


async def read_until_lost(stream: FrameStream) -> None:
    while True:
        await stream.next(5)


@pytest.mark.fuzz
@given(MESSAGES)
def test_every_message_survives_the_wire(message: Message) -> None:
    assert decode(encode(message)) == message


@pytest.mark.fuzz
@given(st.binary(max_size=2048))
def test_any_bytes_decode_to_a_message_or_a_wire_error(data: bytes) -> None:
    try:
        message = decode(data)
    except WireError:
        return
    assert decode(encode(message)) == message  # what is accepted is well formed


@pytest.mark.fuzz
@given(frames(), st.integers(-3, 3).filter(bool))
def test_a_frame_whose_pixels_do_not_match_its_shape_is_refused(
    frame: FrameData, extra: int
) -> None:
    data = encode(frame)
    damaged = data[:extra] if extra < 0 else data + bytes(extra)
    with pytest.raises(WireError, match="frame"):
        decode(damaged)


def test_sizes_and_kinds_are_bounded() -> None:
    head = struct.pack(">BIIdHHB", 11, 1, 1, 0.0, 8192, 8192, 3)  # 201 MB of pixels claimed
    with pytest.raises(WireError, match="8192x8192x3"):
        decode(head + b"\0" * 16)
    with pytest.raises(WireError, match="unknown message kind 99"):
        decode(b"\x63")
    with pytest.raises(WireError, match="empty"):
        decode(b"")
    long_reason = struct.pack(">BI", 12, 1) + b"x" * (MAX_TEXT + 1)
    with pytest.raises(WireError, match="longer than"):
        decode(long_reason)
    nan = struct.pack(">BIIdHHB", 11, 1, 1, float("nan"), 1, 1, 1) + b"\0"
    with pytest.raises(WireError, match="time"):
        decode(nan)


async def test_a_worker_killed_mid_capture_is_a_lost_camera_and_the_next_worker_serves() -> None:
    async with simulator() as sim:
        camera = Camera(sim.urls()["face_camera_rgb"])
        await camera.start()
        try:
            async with camera.hub.stream("face_camera_rgb") as frames:
                await frames.next(5)
                pid = camera.driver.worker.pid
                assert pid is not None
                assert pid != os.getpid()
                mark = camera.mark()
                os.kill(pid, signal.SIGKILL)
                with pytest.raises(CameraLost, match="killed by SIGKILL"):
                    await read_until_lost(frames)
            gone = await camera.state_becomes("gone", since=mark)
            assert "capture worker ended (killed by SIGKILL)" in gone.detail
            mark = camera.mark()
            await camera.state_becomes("ready", since=mark)  # the supervisor restarted it
            assert camera.driver.worker.pid not in (None, pid)
            frame = await camera.hub.grab("face_camera_rgb", 5)
            assert frame.image.shape == (480, 640, 3)
        finally:
            await camera.stop()
        assert camera.driver.worker.pid is None


async def test_an_idle_worker_exits_and_the_next_stream_starts_one() -> None:
    settings = CameraSettings(
        stall_after=FAST.stall_after, open_timeout=FAST.open_timeout, worker_idle_exit=0.2
    )
    async with simulator() as sim:
        camera = Camera(sim.urls()["face_camera_rgb"], settings=settings)
        await camera.start()
        try:
            worker = camera.driver.worker
            await eventually(lambda: not worker.running, "the probe's worker exits when idle")
            assert (camera.states[-1].state, worker.starts) == ("ready", 1)
            async with camera.hub.stream("face_camera_rgb") as frames:
                first = await frames.next(10)
                assert worker.starts == 2
                assert first.image.shape == (480, 640, 3)
                await eventually(  # held streams keep it, however long the idle time
                    lambda: camera.driver.capturing and worker.running, "capturing"
                )
            await eventually(lambda: not worker.running, "the worker exits after the stream")
            assert camera.states[-1].state == "ready"
            assert camera.hub.available("face_camera_rgb")
        finally:
            await camera.stop()
