"""What the simulated cameras show, by simple image statistics: a live face moves and is lit
in IR, a photo is still and flat in IR, a screen shows no face in IR, nobody is nobody —
rendered directly, and read back through the simulator, OpenCV and the driver."""

from __future__ import annotations

import random
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np
import pytest

from govkiosk.devices.camera import scenes
from govkiosk.devices.camera.sim import (
    CameraSimulator,
    RecordingSource,
    SceneSource,
    build,
    find_face,
    parse_args,
)
from harness.camera import OBAMA, OBAMA_BOX, Camera, binocular, control, photo, scene, simulator

#: The face's place in a 640×480 frame: FACE_HEIGHT px high, centred a little above the middle.
FACE = (slice(140, 300), slice(250, 390))


def blurred(image: np.ndarray) -> np.ndarray:
    """Sensor noise averaged out: what is left is the scene."""
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), 2.0)


def motion(frames: List[np.ndarray]) -> float:
    """Mean change in the face region between successive frames, noise averaged out."""
    return float(
        np.mean(
            [np.abs(blurred(a)[FACE] - blurred(b)[FACE]).mean() for a, b in zip(frames, frames[1:])]
        )
    )


def texture(ir: np.ndarray) -> float:
    """Fine detail in the IR face region: variance of the Laplacian."""
    return float(cv2.Laplacian(cv2.GaussianBlur(ir, (3, 3), 0), cv2.CV_64F)[FACE].var())


def rendered(
    scenario: str, times: Tuple[float, ...] = (0.0, 0.3, 0.6)
) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    rng = random.Random(7)
    pairs = [scenes.render(scene(scenario), t, rng) for t in times]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def test_a_live_face_moves_and_a_photo_is_still() -> None:
    live_rgb, _ = rendered("live")
    photo_rgb, _ = rendered("photo")
    screen_rgb, _ = rendered("screen")
    assert motion(live_rgb) > 4.0
    assert motion(screen_rgb) > 4.0  # a replayed video moves too
    assert motion(photo_rgb) < 0.5


def test_in_ir_skin_is_lit_a_print_is_flat_and_a_screen_is_dark() -> None:
    _, live_ir = rendered("live")
    _, photo_ir = rendered("photo")
    _, screen_ir = rendered("screen")
    _, nobody_ir = rendered("nobody")
    assert live_ir[0][FACE].mean() > 80  # the illuminator lights a near face
    assert live_ir[0][FACE].std() > 25
    assert texture(live_ir[0]) > 4 * texture(photo_ir[0])  # a print has no skin texture
    assert photo_ir[0][FACE].std() < live_ir[0][FACE].std() / 2
    for dark in (screen_ir[0], nobody_ir[0]):  # a screen emits no IR: no face to see
        assert dark.mean() < 25
        assert dark.std() < 5


def test_frames_are_noisy_like_a_sensor_yet_reproducible() -> None:
    a = scenes.render(scene("nobody"), 1.0, random.Random(3))
    b = scenes.render(scene("nobody"), 1.0, random.Random(3))
    c = scenes.render(scene("nobody"), 1.0, random.Random(4))
    assert np.array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    grain = a[0].astype(np.float32) - blurred(a[0])
    assert 1.0 < grain.std() < 3.0  # σ = scenes.NOISE, less what the blur keeps


def test_dlib_finds_the_face_of_the_photo_and_of_a_live_frame_but_not_of_nobody() -> None:
    pytest.importorskip("dlib")
    x, _y, w, _h = find_face(photo())
    assert abs(x - OBAMA_BOX[0]) < 10
    assert abs(w - OBAMA_BOX[2]) < 10
    live_rgb, _ = rendered("live")
    nobody_rgb, _ = rendered("nobody")
    detector = __import__("dlib").get_frontal_face_detector()
    assert len(detector(cv2.cvtColor(live_rgb[0], cv2.COLOR_BGR2RGB), 1)) == 1
    assert len(detector(cv2.cvtColor(nobody_rgb[0], cv2.COLOR_BGR2RGB), 1)) == 0


async def test_scenarios_switched_over_http_reach_the_driver() -> None:
    async with simulator("live") as sim, binocular(sim) as (rgb, ir):
        seen = {}
        for scenario in ("live", "photo", "screen"):
            state = await control(sim.url, scenario=scenario)
            assert state["scenario"] == scenario
            async with rgb.hub.stream("face_camera_rgb") as colour, ir.hub.stream(
                "face_camera_ir"
            ) as infrared:
                await colour.next(5)  # a frame of the new scene
                first = last = await colour.next(5)
                moved = 0.0
                while last.at - first.at < 1.0:  # a sway needs a moment to show
                    last = await colour.next(5)
                    moved = max(moved, motion([first.image, last.image]))
                grey = cv2.cvtColor((await infrared.next(5)).image, cv2.COLOR_BGR2GRAY)
            seen[scenario] = (moved, grey[FACE].mean(), grey[FACE].std())
        assert seen["live"][0] > 3 * max(seen["photo"][0], 0.3)
        assert seen["live"][1] > 80
        assert seen["screen"][1] < 25
        assert seen["screen"][2] < 6


async def test_the_document_camera_shows_the_page(tmp_path: Path) -> None:
    page = np.full((1400, 1000, 3), 255, np.uint8)
    cv2.putText(page, "GOVKIOSK", (100, 700), cv2.FONT_HERSHEY_SIMPLEX, 5, (0, 0, 0), 12)
    assert cv2.imwrite(str(tmp_path / "page.png"), page)
    args = parse_args(
        ["--scenario", "nobody", "--page", str(tmp_path / "page.png"), "--doc-fps", "10"]
    )
    sim = build(args)
    await sim.start()
    camera = Camera(sim.urls()["doc_camera"], "doc_camera")
    try:
        await camera.start()
        assert camera.states[-1].detail.startswith("1920x1080")
        frame = await camera.hub.grab("doc_camera", 5)
        grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        assert grey.shape == (1080, 1920)
        sheet = grey[100:980, 700:1220]
        assert sheet.mean() > 200  # a white page on a dark desk, with dark ink on it
        assert grey[:, :300].mean() < 100
        assert (sheet < 80).mean() > 0.01
    finally:
        await camera.stop()
        await sim.stop()


async def test_a_frame_the_source_cannot_render_is_skipped_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    def flaky_page(t: float) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise ValueError("could not broadcast")
        return np.full((1080, 1920, 3), 200, np.uint8)

    sim = CameraSimulator(SceneSource(scene("nobody")), flaky_page, doc_fps=10)
    await sim.start()
    camera = Camera(sim.urls()["doc_camera"], "doc_camera")
    try:
        await camera.start()
        frame = await camera.hub.grab("doc_camera", 5)
        assert frame.image.shape == (1080, 1920, 3)
    finally:
        await camera.stop()
        await sim.stop()
    assert calls > 3
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failed) == 1  # told once for the run of failures, not once a frame
    assert failed[0].getMessage().startswith("doc: the frame at ")


def test_the_command_line_builds_scenes_and_recordings(tmp_path: Path) -> None:
    for number in range(2):
        cv2.imwrite(str(tmp_path / f"f{number}.png"), np.full((60, 80, 3), 100 * number, np.uint8))
    sim = build(parse_args(["--images", str(tmp_path)]))
    assert isinstance(sim.face, RecordingSource)
    rgb, ir = sim.face(0.0)
    assert (rgb.shape, ir.shape) == ((480, 640, 3), (480, 640))
    assert sim.face(1 / 30)[0].mean() > rgb.mean()  # the next image
    with pytest.raises(ValueError, match="needs --face"):
        build(parse_args(["--scenario", "live"]))
    with pytest.raises(ValueError, match="no images"):
        build(parse_args(["--images", str(tmp_path / "none-*.png")]))
    boxed = build(
        parse_args(["--face", str(OBAMA), "--box", "349,142,268,267", "--size", "320x240"])
    )
    assert isinstance(boxed, CameraSimulator)
    assert boxed.face(0.0)[0].shape == (240, 320, 3)
    with pytest.raises(SystemExit):
        parse_args(["--box", "1,2,3"])
