"""What keeps the UI fast, in the real Kivy UI against the whole kiosk.

The frame-rate governor: on home with nothing moving the loop drops to the idle rate
(and really ticks that slowly); a touch brings the full rate back at once, before the
touch is even released; anything drawn without a touch (a new screen, an animation, a
countdown) the motion rate. The backdrop: the frame's background is the window's clear colour, not a
rectangle drawn over it, and still in a screenshot of the frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from PIL import Image

from govkiosk_ui import theme
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import kiosk
from harness.kivy_ui import WAIT, Driver

pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session")]

#: The quiet time before the rate drops, shortened so the test need not wait 2 s.
QUIET = 0.3


@contextlib.contextmanager
def quick_to_idle(governor: Any) -> Iterator[None]:
    """The app's own governor, idling after :data:`QUIET`; as it was afterwards, at full rate."""
    idle_after, governor.idle_after = governor.idle_after, QUIET
    try:
        yield
    finally:
        governor.idle_after = idle_after
        governor.wake()  # the UI tests that follow run at the full rate


async def reach(check: Callable[[], bool], what: str) -> None:
    """Until ``check()`` holds; returns at once, without the frames ``Driver.until`` lets
    pass after (a drawn frame changes the rate)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not check():
        assert loop.time() < deadline, f"never reached: {what}"
        await asyncio.sleep(0.02)


async def settled_idle(governor: Any, full: float) -> None:
    """Until the governor idles and the loop really ticks slowly."""
    from kivy.clock import Clock  # noqa: PLC0415 - Kivy only once the ui fixture set it up

    # Kivy's pacing wakes a little early: ~12 ticks a second for 10/s, ~60 for 60/s.
    await reach(lambda: governor.idle and 0 < Clock.get_fps() < full / 2, "a slow loop")


def clock_rate() -> float:
    from kivy.clock import Clock  # noqa: PLC0415 - Kivy only once the ui fixture set it up

    return float(Clock._max_fps)


async def test_rate_drops_when_nothing_moves_and_returns_on_a_touch(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    from kivy.clock import Clock  # noqa: PLC0415 - as above
    from kivy.tests.common import UnitTestTouch  # noqa: PLC0415

    from govkiosk_ui.framerate import IDLE_FPS, MOTION_FPS  # noqa: PLC0415 - imports Kivy

    app = ui.app
    governor = app.frame_rate
    full = governor.full_fps
    assert full > IDLE_FPS
    async with kiosk(tmp_path, ui_bus, cupsd):
        await ui.on_screen("home")
        with quick_to_idle(governor):
            # Not only the setting: Kivy's loop itself ticks far more slowly.
            await settled_idle(governor, full)
            assert clock_rate() == IDLE_FPS

            tile = next(
                w for w in app.screen("home").walk() if getattr(w, "value", "") in app.items
            )
            touch = UnitTestTouch(*tile.to_window(*tile.center))
            governor.idle_after = WAIT  # the full rate stays until the loop shows it
            touch.touch_down()
            assert not governor.idle  # the finger is still on the glass
            assert clock_rate() == full
            touch.touch_up()
            assert app.current == "item"
            await ui.until(lambda: Clock.get_fps() > full / 2, "the loop back at full rate")
            governor.idle_after = QUIET

            # Quiet again; then something drawn (here a new screen) without a touch: the
            # motion rate, and the idle rate again once nothing more is drawn.
            await settled_idle(governor, full)
            app.show_home()
            await reach(lambda: not governor.idle, "a faster rate after a drawn frame")
            assert clock_rate() == MOTION_FPS
            await settled_idle(governor, full)


async def test_stopped_governor_leaves_the_full_rate(ui: Driver) -> None:
    from kivy.core.window import Window  # noqa: PLC0415 - as above

    from govkiosk_ui.framerate import FrameRateGovernor  # noqa: PLC0415

    full = clock_rate()
    governor = FrameRateGovernor(idle_fps=5.0, idle_after=0.0)
    governor.start(Window)
    try:
        governor.check()
        assert governor.idle
        assert clock_rate() == 5.0
    finally:
        governor.stop()
    assert not governor.idle
    assert clock_rate() == full
    await ui.frames(2)  # the loop runs on at its rate


async def test_background_is_the_windows_clear_colour_and_in_screenshots(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    from kivy.core.window import Window  # noqa: PLC0415 - as above
    from kivy.metrics import dp  # noqa: PLC0415

    root = ui.app.root
    async with kiosk(tmp_path, ui_bus, cupsd):
        await ui.on_screen("home")
        assert tuple(Window.clearcolor) == tuple(theme.BACKGROUND)
        assert list(root.canvas.before.children) == []  # nothing painted over it
        image = Image.open(io.BytesIO(ui.app.screenshot_png())).convert("RGB")
        assert image.size == tuple(root.size)
        # Left of the home screen's padding: nothing but the background there.
        screens = root.screens
        x, y = int(screens.x + dp(8)), int(screens.center_y)
        expected = tuple(round(c * 255) for c in theme.BACKGROUND[:3])
        pixel = image.getpixel((x, image.height - 1 - y))
        assert max(abs(a - b) for a, b in zip(pixel, expected)) <= 2, (pixel, expected)
