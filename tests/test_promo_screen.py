"""The promotion screen as it runs: an X server with two screens (the touch panel 1280×800
and a portrait promotion screen 1080×1920), a private bus, the real ``govkioskd`` and
``govkiosk-promo`` as processes, ``govkioskctl promo`` and a media server on 127.0.0.1.
What is on screen 1 is read from outside the program (``xwd``).

``GOVKIOSK_SCREENSHOTS=DIR`` keeps the pictures as PNGs to look at.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import AsyncIterator, Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
import pytest

from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.govkioskd import Govkioskd
from harness.nut import NutServer
from harness.process import Proc
from harness.promo import (
    BLUE,
    GREEN,
    RED,
    ContentSigner,
    MediaServer,
    clip,
    manifest_for,
    playlist_dir,
)
from harness.xscreens import TwoScreens, mean_colour

pytestmark = pytest.mark.timeout(180)

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
WAIT = 30.0
SIGNER = ContentSigner()
PROMO_CONFIG = "\n[promo]\nallow_http_loopback = true\n\n" + SIGNER.toml()
#: The notice's background, as the screen shows it (BGR).
NOTICE = (84, 41, 20)
#: The middle of the portrait screen, inside the poster's white frame.
MIDDLE = (440, 860, 200, 200)
SHOTS = os.environ.get("GOVKIOSK_SCREENSHOTS")


@pytest.fixture
def screens(tmp_path: Path) -> Iterator[TwoScreens]:
    screens = TwoScreens(tmp_path / "x")
    yield screens
    screens.stop()


class Stack:
    def __init__(self, tmp_path: Path, screens: TwoScreens, bus: PrivateBus, config: str) -> None:
        self.tmp_path = tmp_path
        self.screens = screens
        self.bus = bus
        self.env = dict(os.environ, KIVY_HOME=str(tmp_path / "kivy"))
        self.daemon = Govkioskd(tmp_path / "kiosk", bus.address, config)
        self.promo: Proc

    def start_daemon(self) -> None:
        self.daemon.start()
        proc = self.daemon.proc
        assert proc is not None
        proc.wait_ready(lambda: "ready:" in proc.output(), WAIT, "govkioskd")

    def start_promo(self, *extra: str) -> None:
        env = dict(self.env, DISPLAY=self.screens.screen(1))
        argv = [sys.executable, "-m", "govkiosk_ui.promo", "--bus", self.bus.address, *extra]
        self.promo = Proc(argv, self.tmp_path / "promo.log", env=env)

    def log(self) -> str:
        return self.promo.output()

    async def logged(self, text: str, after: int = 0) -> int:
        """Wait for ``text`` in the promotion program's log after offset ``after``."""

        def found() -> bool:
            if not self.promo.alive():
                raise AssertionError(f"govkiosk-promo exited:\n{self.log()}")
            return text in self.log()[after:]

        await eventually(found, f"{text!r} in the promotion log", WAIT)
        return len(self.log())

    async def ctl(self, *args: str) -> Tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            str(BIN / "govkioskctl"),
            "promo",
            "--bus",
            self.bus.address,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), WAIT)
        assert proc.returncode is not None
        return proc.returncode, out.decode()

    def picture(self, name: str, picture: Optional[np.ndarray] = None) -> np.ndarray:  # type: ignore[type-arg]
        if picture is None:
            picture = self.screens.picture(1)
        cv2.imwrite(str(self.tmp_path / f"{name}.png"), picture)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(Path(SHOTS) / f"promo-{name}.png"), picture)
        return picture

    async def showing(
        self, name: str, box: Tuple[int, int, int, int], colour: Tuple[int, int, int]
    ) -> np.ndarray:  # type: ignore[type-arg]
        """Screen 1 once ``box`` shows ``colour`` (the frame after a change is drawn a
        moment after the program logs it); kept as ``name``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            picture = self.screens.picture(1)
            if near(mean_colour(picture, box), colour) or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        return self.picture(name, picture)

    def stop(self) -> None:
        self.promo.stop()
        self.daemon.stop()


@pytest.fixture
async def stack(
    tmp_path: Path, screens: TwoScreens, private_bus: PrivateBus
) -> AsyncIterator[Stack]:
    stack = Stack(tmp_path, screens, private_bus, PROMO_CONFIG)
    stack.start_daemon()
    stack.start_promo()
    yield stack
    stack.stop()


def near(colour: Tuple[int, int, int], expected: Tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


async def test_plays_updates_refuses_rolls_back_and_says_when_out_of_service(
    stack: Stack, tmp_path: Path
) -> None:
    await stack.logged("promo: no playlist installed")

    # A local playlist (an integrator's): red then green, on screen 1 and only there.
    local = playlist_dir(tmp_path / "local", "local-1", [("red", RED), ("green", GREEN)])
    status, out = await stack.ctl("load", str(local))
    assert status == 0, out
    assert json.loads(out)["version"] == "local-1"
    mark = await stack.logged("promo: showing local-1/red (image)")
    picture = await stack.showing("1-local-red", MIDDLE, RED)
    assert picture.shape[:2] == (1920, 1080)
    assert near(mean_colour(picture, MIDDLE), RED)
    # A 9:16 poster on a 9:16 screen: filled edge to edge, its white frame ×4.
    assert near(mean_colour(picture, (0, 0, 16, 16)), RED)
    assert near(mean_colour(picture, (1064, 1904, 16, 16)), RED)
    assert mean_colour(picture, (400, 34, 200, 6)) == (255, 255, 255)
    touch_panel = stack.screens.picture(0)
    assert not near(mean_colour(touch_panel, (540, 300, 200, 200)), RED)  # not on the panel
    await stack.logged("promo: showing local-1/green (image)", mark)
    assert near(mean_colour(await stack.showing("2-local-green", MIDDLE, GREEN), MIDDLE), GREEN)

    # A signed manifest, its media downloaded by the daemon: a blue poster and a clip.
    server = MediaServer(tmp_path / "served")
    await server.start()
    try:
        playlist_dir(server.directory, "ops-2", [("blue", BLUE)], duration=30)
        clip(server.directory / "clip.mp4", GREEN, seconds=3, fps=10)
        document = json.loads((server.directory / "playlist.json").read_text())
        document["entries"].append({"name": "clip", "file": "clip.mp4"})
        (server.directory / "playlist.json").write_text(json.dumps(document))
        manifest = manifest_for(server.directory, server.base_url)
        signed = tmp_path / "ops-2.json"
        signed.write_text(json.dumps(SIGNER.sign(manifest)))
        status, out = await stack.ctl("load", str(signed))
        assert status == 0, out
        mark = await stack.logged("promo: showing ops-2/blue (image)")
        assert near(mean_colour(await stack.showing("3-ops-blue", MIDDLE, BLUE), MIDDLE), BLUE)

        # Refused: a file whose bytes are not the signed hash, and a forged signature.
        server.overrides["blue.png"] = (server.directory / "clip.mp4").read_bytes()[:100]
        spoiled = dict(manifest, version="ops-3")
        (tmp_path / "ops-3.json").write_text(json.dumps(SIGNER.sign(spoiled)))
        status, out = await stack.ctl("load", str(tmp_path / "ops-3.json"))
        assert status == 1
        assert "blue.png: the server offers 100 bytes, the manifest says" in out
        forged = ContentSigner(SIGNER.key_id).sign(dict(manifest, version="ops-4"))
        (tmp_path / "ops-4.json").write_text(json.dumps(forged))
        status, out = await stack.ctl("load", str(tmp_path / "ops-4.json"))
        assert status == 1
        assert "does not verify with content key publicity-test-1" in out
    finally:
        await server.stop()
    assert "playlist ops-3" not in stack.log()
    assert "playlist ops-4" not in stack.log()
    assert near(mean_colour(stack.picture("4-still-blue"), MIDDLE), BLUE)

    # Roll back: the local playlist again.
    status, out = await stack.ctl("rollback")
    assert status == 0, out
    mark = await stack.logged("promo: showing local-1/red (image)", mark)
    assert near(mean_colour(await stack.showing("5-rolled-back", MIDDLE, RED), MIDDLE), RED)

    # The daemon gone: the notice; back: the playlist.
    stack.daemon.stop()
    mark = await stack.logged("promo: notice shown (the daemon is away)", mark)
    notice = await stack.showing("6-notice", (0, 0, 100, 100), NOTICE)
    assert near(mean_colour(notice, (0, 0, 100, 100)), NOTICE)
    assert notice[700:1200].max() >= 200  # the notice's white text
    stack.start_daemon()
    await stack.logged("promo: showing local-1/", mark)
    back = await stack.showing("7-back", MIDDLE, RED)
    assert not near(mean_colour(back, (0, 0, 100, 100)), NOTICE)


async def test_a_video_plays_at_its_own_pace(stack: Stack, tmp_path: Path) -> None:
    """The clip's square crosses the screen at the clip's speed: frames the screen cannot
    draw in time are dropped, not slowed down (Xvfb draws in software)."""
    await stack.logged("promo: no playlist installed")
    source = tmp_path / "video"
    source.mkdir()
    seconds, fps = 6, 10
    clip(source / "clip.mp4", BLUE, seconds=seconds, fps=fps)
    document = {"format": 1, "version": "v", "entries": [{"name": "clip", "file": "clip.mp4"}]}
    (source / "playlist.json").write_text(json.dumps(document))
    status, out = await stack.ctl("load", str(source))
    assert status == 0, out
    await stack.logged("promo: showing v/clip (video)")
    await stack.showing("8-video-start", (0, 0, 100, 100), BLUE)
    loop = asyncio.get_running_loop()
    samples: List[Tuple[float, float]] = []
    started = loop.time()
    while loop.time() - started < 3.0:  # sampling what plays, not waiting for it
        before = loop.time()
        picture = stack.screens.picture(1)
        taken = (before + loop.time()) / 2
        white = np.flatnonzero(picture[960].min(axis=1) > 200)  # the square's row, ×4
        if white.size:
            samples.append((taken, float(white.mean())))
        await asyncio.sleep(0.1)
    stack.picture("8-video")
    run = samples[:1]  # the square's first crossing (the clip loops)
    for sample in samples[1:]:
        if sample[1] < run[-1][1]:
            break
        run.append(sample)
    assert len(run) >= 5, samples
    (t1, x1), (t2, x2) = run[0], run[-1]
    speed = (x2 - x1) / (t2 - t1)
    expected = (270 - 40) * 4 / seconds  # px a second on screen
    assert 0.6 * expected < speed < 1.4 * expected, (speed, expected, samples)


async def test_a_new_picture_fades_in(
    tmp_path: Path, screens: TwoScreens, private_bus: PrivateBus
) -> None:
    stack = Stack(tmp_path, screens, private_bus, PROMO_CONFIG)
    stack.start_daemon()
    stack.start_promo("--fade", "3")
    try:
        await stack.logged("promo: no playlist installed")
        playlist = playlist_dir(tmp_path / "p", "p", [("red", RED), ("green", GREEN)], duration=4)
        status, out = await stack.ctl("load", str(playlist))
        assert status == 0, out
        mark = await stack.logged("promo: showing p/red (image)")
        await stack.showing("11-fade-red", MIDDLE, RED)
        await stack.logged("promo: showing p/green (image)", mark)
        # Three seconds from red to green: red's part falls while green's rises.
        seen: List[Tuple[int, int, int]] = []
        while not seen or not near(seen[-1], GREEN):
            seen.append(mean_colour(stack.screens.picture(1), MIDDLE))
            assert len(seen) < 100, seen
        between = [
            (b, g, r)
            for b, g, r in seen
            if GREEN[2] + 20 < r < RED[2] - 20 and RED[1] + 20 < g < GREEN[1] - 20
        ]
        assert len(between) >= 2, seen
        reds = [r for _b, _g, r in between]
        assert reds == sorted(reds, reverse=True), seen
        assert near(mean_colour(await stack.showing("13-faded", MIDDLE, GREEN), MIDDLE), GREEN)
    finally:
        stack.stop()


@pytest.fixture
def ups(tmp_path: Path) -> Iterator[NutServer]:
    server = NutServer(tmp_path / "nut")
    yield server
    server.stop()


async def test_out_of_service_shows_the_notice(
    tmp_path: Path, screens: TwoScreens, private_bus: PrivateBus, ups: NutServer
) -> None:
    config: Dict[str, object] = {
        "user": ups.user,
        "password": ups.password,
        "poll_interval": 0.2,
        "grace_period": 0,
        "mains_hysteresis": 0.5,
        "drain_timeout": 5,
        "final_delay": 600,
        "dry_run": True,
    }
    ups_section = "\n[ups]\n" + "\n".join(
        f"{k} = {json.dumps(v) if isinstance(v, str) else str(v).lower()}"
        for k, v in config.items()
    )
    devices = f'\n[[devices.static]]\nrole = "ups"\nport = "{ups.url}"\n'
    stack = Stack(tmp_path, screens, private_bus, ups_section + devices + PROMO_CONFIG)
    stack.start_daemon()
    stack.start_promo()
    try:
        playlist = playlist_dir(tmp_path / "local", "local-1", [("red", RED)], duration=60)
        status, out = await stack.ctl("load", str(playlist))
        assert status == 0, out
        mark = await stack.logged("promo: showing local-1/red (image)")
        ups.write(ups_status="OB DISCHRG LB", battery_charge="8", battery_runtime="30")
        mark = await stack.logged("promo: notice shown (out of service)", mark)
        notice = await stack.showing("9-out-of-service", (0, 0, 100, 100), NOTICE)
        assert near(mean_colour(notice, (0, 0, 100, 100)), NOTICE)
        ups.write(ups_status="OL CHRG", battery_charge="60", battery_runtime="900")
        await stack.logged("promo: showing local-1/red (image)", mark)
        again = await stack.showing("10-in-service-again", MIDDLE, RED)
        assert near(mean_colour(again, MIDDLE), RED)
    finally:
        stack.stop()
