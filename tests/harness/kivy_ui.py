"""The real Kivy UI (``KioskApp``) inside the test process, on the test's event loop.

Kivy has one window per process, so the app is started once (a session fixture) and
follows whichever daemon the current test brings onto the shared private bus — as
the kiosk's UI follows a daemon that restarts. Touches are Kivy's own
``UnitTestTouch`` at a widget's centre in window coordinates: a button that is
hidden, covered or off screen does not receive them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, List, Optional

from govkiosk.items.catalogue import DEFAULT_CATALOGUE

WAIT = 20.0
REPO = Path(__file__).resolve().parents[2]


def demo_catalogue() -> str:
    """Table 1 and the demo's own items (config/demo-items.toml), as the demo syncs them:
    ``await k.items.call_sync("office", demo_catalogue(), "demo-items.toml")``."""
    demo = REPO / "config" / "demo-items.toml"
    return DEFAULT_CATALOGUE.read_text(encoding="utf-8") + demo.read_text(encoding="utf-8")


def prepare_kivy(home: Path) -> None:
    """Kivy's settings before its first import: a private KIVY_HOME, a window, a CJK font."""
    os.environ["KIVY_HOME"] = str(home)
    from govkiosk_ui import fonts, window  # noqa: PLC0415 - Kivy reads its config on import

    window.prepare(windowed=True)
    fonts.register(fonts.find_cjk_font())


def walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in widget.children:
        yield from walk(child)


def shown(widget: Any) -> bool:
    """On screen for the citizen: in the window, not transparent, not zero-sized."""
    node = widget
    while node is not None:
        if getattr(node, "opacity", 1) == 0:
            return False
        if node.parent is node:
            break
        node = node.parent
    return widget.width > 0 and widget.height > 0 and widget.get_root_window() is not None


def flat(text: str) -> str:
    """Text without its line breaks and spaces: a tile breaks a long name over lines
    (and drops the space where an English name breaks)."""
    return "".join(text.split())


class Driver:
    """Drives the running app: waits, finds widgets, touches them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def frames(self, count: int = 2) -> None:
        from kivy.clock import Clock  # noqa: PLC0415

        target = Clock.frames_displayed + count
        while Clock.frames_displayed < target:  # noqa: ASYNC110 - Kivy's frame count has no event
            await asyncio.sleep(0.01)

    async def until(self, check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            if loop.time() > deadline:
                raise AssertionError(f"UI never reached: {what} (on {self.app.current})")
            await asyncio.sleep(0.02)
        await self.frames()

    async def on_screen(self, name: str, timeout: float = WAIT) -> None:
        await self.until(lambda: self.app.current == name, f"screen {name}", timeout)

    def buttons(self, root: Optional[Any] = None) -> List[Any]:
        from kivy.uix.button import Button  # noqa: PLC0415

        top = root if root is not None else self.app.root_window
        return [w for w in walk(top) if isinstance(w, Button) and shown(w) and not w.disabled]

    def button(self, text: str) -> Any:
        """The one enabled, visible button whose text contains ``text``."""
        found = [b for b in self.buttons() if flat(text) in flat(b.text)]
        if len(found) != 1:
            raise AssertionError(
                f"{len(found)} buttons say {text!r}; shown: {[b.text for b in self.buttons()]}"
            )
        return found[0]

    async def scroll_to(self, widget: Any) -> None:
        """Scroll the list ``widget`` is in until it shows, as the citizen would swipe."""
        from kivy.uix.scrollview import ScrollView  # noqa: PLC0415

        node = widget.parent
        while node is not None and node is not node.parent:
            if isinstance(node, ScrollView):
                node.scroll_to(widget, padding=10, animate=False)
                await self.frames(2)
                return
            node = node.parent

    async def tap(self, widget: Any) -> None:
        from kivy.tests.common import UnitTestTouch  # noqa: PLC0415

        await self.scroll_to(widget)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await self.frames(1)
        touch.touch_up()
        await self.frames(1)

    async def choose(self, value: str) -> None:
        """Tap the shown button that sends ``value`` (a session choice) once it is there."""

        def offered() -> List[Any]:
            return [b for b in self.buttons() if getattr(b, "value", "") == value]

        await self.until(lambda: len(offered()) == 1, f"the {value!r} choice")
        await self.tap(offered()[0])

    async def tap_text(self, text: str) -> None:
        """Tap the button saying ``text`` once it is there (the daemon may still be working)."""
        await self.until(
            lambda: len([b for b in self.buttons() if flat(text) in flat(b.text)]) == 1,
            f"a {text!r} button",
        )
        await self.tap(self.button(text))


class RecordingSpeaker:
    """Stands in for the TTS program: the prompts the UI would speak, in order."""

    def __init__(self) -> None:
        self.enabled = True
        self.said: List[str] = []

    def say(self, text: str, language: str) -> None:
        del language
        self.said.append(text)

    def stop(self) -> None:
        pass


@contextlib.asynccontextmanager
async def running_ui(directory: Path, bus_address: str) -> AsyncIterator[Driver]:
    """The app on the running loop until the block ends; waits for its first frame."""
    prepare_kivy(directory / "kivy")
    from govkiosk_ui.app import KioskApp  # noqa: PLC0415 - after prepare_kivy

    app = KioskApp(bus_address, speaker=RecordingSpeaker())  # type: ignore[arg-type]
    task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
    driver = Driver(app)
    try:
        await driver.until(lambda: app.root is not None, "the first frame")
        yield driver
    finally:
        app.stop()
        done, _pending = await asyncio.wait({task}, timeout=WAIT)
        if not done:  # never leave the session's loop a task that outlives it
            task.cancel()
            await asyncio.wait({task}, timeout=WAIT)
