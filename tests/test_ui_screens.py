"""Every screen, in both languages and in large-text mode, measured over its widget tree.

Checks the numbers of ../shared/reference/ux-numbers.md on what is actually on screen:
touch targets (primary ≥ 60 dp, the rest ≥ 44 dp), text ≥ 18 sp (≥ 30 sp body text in
large-text mode, line spacing ≥ 1.3), and the contrast of each text colour against the
colour painted behind it (≥ 4.5:1); and the layout as the eye sees it
(``harness.layout``): nothing clipped, overflowing or overlapping, Chinese lines broken
by the rules, no text smaller in large-text mode than in normal mode. Each screen is also written as a PNG: to
``$GOVKIOSK_SCREENSHOTS/<lang>/<screen>.png`` for ``make screenshots``, else to the
test's temporary directory.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest

from govkiosk.maintenance.pin import hash_pin
from govkiosk.power.service import ShutdownStageChanged
from govkiosk.session.failures import failure_for
from govkiosk.session.prompts import prompt
from govkiosk.session.staffcodes import staff_code
from govkiosk_ui import i18n, theme
from govkiosk_ui.model import Session
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import SIMULATED_FACES, Kiosk, kiosk
from harness.kivy_ui import Driver, demo_catalogue, shown, walk
from harness.layout import font_sizes, layout_problems, shrunk_in_large

pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session")]

PIN = "246810"
#: Fast hashing for the test: the PIN's strength is not what is measured here. Set 80 days
#: ago, 10 before it expires: the maintenance screen says so.
MAINTENANCE = (
    f'\n[maintenance]\npin_hash = "{hash_pin(PIN, iterations=1000)}"\n'
    f'pin_set = "{datetime.date.today() - datetime.timedelta(days=80)}"\n'
)
#: The camera steps held long enough to photograph: the face watched for 5 s before the
#: decision, a page under the document camera captured only when "capture" is pressed.
CAMERAS = "\n[docscan]\nsteady_hold = 600\n"
FACE = SIMULATED_FACES + "\nwindow_seconds = 5"


def luminance(colour: Sequence[float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def background(widget: Any) -> Sequence[float]:
    """The colour painted behind ``widget``: its own or its nearest ancestor's ``bg_colour``."""
    node = widget
    while node is not None and node is not node.parent:
        colour = getattr(node, "bg_colour", None)
        if colour is not None:
            return tuple(colour)
        node = node.parent
    return theme.BACKGROUND


def texts(root: Any) -> Iterator[Any]:
    from kivy.uix.label import Label  # noqa: PLC0415 - Kivy only once the ui fixture set it up

    for widget in walk(root):
        if isinstance(widget, Label) and widget.text.strip() and shown(widget):
            yield widget


def measure(ui: Driver, screen: str, *, large: bool) -> List[str]:
    """Every breach of the numbers on what is shown now; empty when all hold."""
    from kivy.metrics import dp, sp  # noqa: PLC0415 - as above
    from kivy.uix.button import Button  # noqa: PLC0415

    problems: List[str] = []
    root = ui.app.root_window
    for widget in walk(root):
        if not isinstance(widget, Button) or not shown(widget) or widget.disabled:
            continue
        least = theme.MIN_PRIMARY if getattr(widget, "primary", False) else theme.MIN_SECONDARY
        if widget.width < dp(least) - 0.5 or widget.height < dp(least) - 0.5:
            problems.append(f"{screen}: button {widget.text!r} is {widget.size} < {least} dp")
    for label in texts(root):
        if getattr(label, "disabled", False):
            continue  # WCAG 1.4.3 exempts inactive controls
        size = label.font_size / sp(1)
        if size < theme.MIN_TEXT - 0.01:
            problems.append(f"{screen}: {label.text[:20]!r} is {size:.1f} sp < {theme.MIN_TEXT}")
        name = type(label).__name__
        if large and name == "BodyText" and size < theme.MIN_LARGE_TEXT:
            problems.append(
                f"{screen}: body text {label.text[:20]!r} is {size:.1f} sp in large mode"
            )
        if name == "BodyText" and label.line_height < theme.LINE_HEIGHT:
            problems.append(f"{screen}: {label.text[:20]!r} line spacing {label.line_height}")
        ratio = contrast(label.color, background(label))
        if ratio < 4.5:
            problems.append(f"{screen}: {label.text[:20]!r} contrast {ratio:.2f} < 4.5")
    return problems


#: Each screen's text sizes in normal mode (zh_CN), for the large-text run to compare.
NORMAL_SIZES: Dict[str, Dict[str, float]] = {}


class Visit:
    """Shows each screen, measures it, checks its layout and writes its picture."""

    def __init__(self, ui: Driver, out: Path, language: str, large: bool) -> None:
        self.ui = ui
        self.out = out / (language + ("-large" if large else ""))
        self.large = large
        self.language = language
        self.problems: List[str] = []
        self.seen: List[str] = []

    async def __call__(self, name: str) -> None:
        await self.ui.frames(3)
        root = self.ui.app.root_window
        self.problems += measure(self.ui, name, large=self.large)
        self.problems += layout_problems(root, name)
        sizes = font_sizes(root)
        if self.large:
            self.problems += shrunk_in_large(NORMAL_SIZES.get(name, {}), sizes, name)
        elif self.language == "zh_CN":
            NORMAL_SIZES[name] = sizes
        self.ui.app.write_screenshot(self.out / f"{name}.png")
        self.seen.append(name)


def screenshot_dir(tmp_path: Path) -> Path:
    configured = os.environ.get("GOVKIOSK_SCREENSHOTS")
    return Path(configured) if configured else tmp_path / "screenshots"


async def tour(ui: Driver, k: Kiosk, cupsd: CupsServer, visit: Visit) -> None:
    """Every screen once: the journey's own, then the ones around it."""
    app = ui.app
    items = {row["code"].value: row["name"].value for row in await k.session.call_list_items()}
    await ui.until(lambda: set(app.items) == set(items), "the catalogue")
    await ui.on_screen("home")
    await visit("home")
    app.rest()
    await visit("attract")
    app.wake()
    await ui.tap(app.root.quick_menu.ids.frequent)
    await visit("frequent")
    await ui.tap(app.root.quick_menu.ids.help)
    await visit("help")
    await ui.tap(app.root.nav_bar.ids.back)
    await ui.on_screen("frequent")
    await ui.tap(app.root.nav_bar.ids.home)
    await ui.on_screen("home")
    await ui.tap_text(shown_name(app, "no_criminal_record"))
    await visit("item")
    item = app.screen("item")
    item.show_item(dataclasses.replace(app.items["no_criminal_record"], available=False))
    await visit("item_unavailable")
    item.show_item(app.items["no_criminal_record"])
    await ui.frames(2)
    await ui.tap(app.screen("item").ids.start)
    await ui.on_screen("card")
    await visit("card")
    await k.card()
    await ui.on_screen("confirm")
    await visit("confirm")
    await ui.tap_text(app.screen("confirm").ids.choices.children[0].text)
    await ui.on_screen("face")
    face = app.screen("face").content.ids.picture
    await ui.until(lambda: face.texture is not None, "the face camera's picture")
    await visit("face")
    await ui.on_screen("consent")
    await visit("consent")
    await ui.tap(app.screen("consent").ids.choices.children[0])
    await ui.on_screen("preview")
    await ui.until(lambda: app.screen("preview").content.ids.page.texture is not None, "a page")
    await visit("preview")
    preview = app.screen("preview")
    await ui.tap(preview.content.ids.zoom)
    await ui.until(lambda: preview.magnifier.get_root_window() is not None, "the magnified page")
    await visit("preview_zoom")
    await ui.tap(preview.content.ids.zoom)
    session = app.journey.session
    assert session is not None
    # The query and the printing pass too fast to photograph: shown as the daemon sends
    # them (its prompt and choices for the step; progress unknown while querying).
    for screen, step, choices, progress in (
        ("progress", "query", ("cancel",), 0.0),
        ("printing", "print_a4", (), 0.5),
    ):
        staged = dataclasses.replace(
            session,
            state="running",
            step=step,
            prompt=prompt(step, app.language),
            choices=choices,
            progress=progress,
            seconds_left=-1.0,
        )
        app.show_step(screen, staged)
        app.screen(screen).show_countdown(-1, 1.0, False)
        await visit(screen)
    app.show_step("preview", session)
    await ui.frames(3)
    await ui.tap(app.screen("preview").ids.choices.children[0])
    await ui.on_screen("done", timeout=30)
    rating = app.screen("done").content.ids.rating
    await ui.until(lambda: rating.offered, "the rating")
    await visit("done")
    await ui.tap(next(b for b in rating.ids.levels.children if b.value == "2"))  # 不满意
    await ui.until(lambda: rating.stage == "reasons", "the reasons")
    await ui.tap(rating.ids.reasons.children[-1])
    await visit("done_reasons")
    await ui.tap(rating.ids.submit)
    await ui.until(lambda: rating.stage == "thanks", "the thanks")
    await visit("done_rated")
    await ui.tap(app.screen("done").ids.choices.children[0])
    await ui.on_screen("home")
    await visit_timed_out(ui, visit)
    await visit_capture(ui, k, visit)
    await ui.tap(app.root.nav_bar.ids.home)
    await visit_leave_dialog(ui, k, items, visit)
    app.show_step(
        "error",
        Session(
            "staged",
            "no_criminal_record",
            "failed",
            "print_a4",
            prompt=failure_for("printer.paper_out").message(app.language),
            message=failure_for("printer.paper_out").message(app.language),
            staff_code=staff_code("printer.paper_out"),
            choices=("retry", "cancel"),
            seconds_left=30.0,
        ),
    )
    await visit("error")
    app.go_home(confirm=False)
    k.daemon.bus.publish(ShutdownStageChanged("on_battery", "mains lost"))
    await ui.until(lambda: bool(app.root.banner), "the banner")
    await visit("home-on-battery")
    k.daemon.bus.publish(ShutdownStageChanged("out_of_service", "battery low"))
    await ui.on_screen("out_of_service")
    await visit("out_of_service")
    k.daemon.bus.publish(ShutdownStageChanged("normal", "mains back"))
    await ui.on_screen("home")
    app.open_maintenance()
    await ui.on_screen("maintenance_login")
    for digit in PIN:
        await ui.tap(next(b for b in ui.buttons() if getattr(b, "key", "") == digit))
    await visit("maintenance_login")
    await ui.tap(next(b for b in ui.buttons() if getattr(b, "key", "") == "ok"))
    await ui.on_screen("maintenance")
    await ui.until(lambda: bool(app.screen("maintenance").ids.alarms.children), "alarms")
    expiry = i18n._("The maintenance PIN expires in {days} days").format(days=10)
    await ui.until(lambda: app.screen("maintenance").pin_text == expiry, "the PIN's expiry")
    await visit("maintenance")
    await visit_pin_change(ui, visit)
    await ui.tap(
        next(b for b in ui.buttons() if b.primary and b in app.screen("maintenance").walk())
    )
    await ui.on_screen("home")


async def visit_pin_change(ui: Driver, visit: Visit) -> None:
    """修改维护密码 from the maintenance screen, at its fullest: two different new PINs
    refused, in words, and the new PIN being typed again."""
    app = ui.app
    await ui.tap(app.screen("maintenance").ids.change_pin)
    dialog = app.maintenance.dialog()
    await ui.until(lambda: dialog.parent is not None, "the PIN change")
    # Typed through the keypad's own handler: a tap redraws the whole window twice, too
    # slow here for 22 keys (tests/test_ui_maintenance_pin.py taps them).
    for key in [*PIN, "ok", *"975310", "ok", *"135799", "ok", *"975310"]:
        dialog.ids.pad.press(key)
    assert dialog.problem
    await visit("pin_change_dialog")
    await ui.tap(dialog.ids.cancel)
    await ui.until(lambda: dialog.parent is None, "the dialog closed")


async def visit_capture(ui: Driver, k: Kiosk, visit: Visit) -> None:
    """The demo item's paper material under the document camera: aiming, then review."""
    app = ui.app
    await k.items.call_sync("office", demo_catalogue(), "demo-items.toml")
    await ui.until(lambda: "remote_medical_filing" in app.items, "the demo item")
    await ui.tap_text(shown_name(app, "remote_medical_filing"))
    await ui.tap(app.screen("item").ids.start)
    await ui.on_screen("card")
    await k.card()
    await ui.on_screen("confirm")
    await ui.tap(app.screen("confirm").ids.choices.children[0])
    await ui.on_screen("consent")
    await ui.tap(app.screen("consent").ids.choices.children[0])
    await ui.on_screen("capture")
    capture = app.screen("capture")
    picture = capture.content.ids.picture
    await ui.until(lambda: len(picture.points) == 8, "the page's outline")
    await visit("capture")
    await ui.tap(next(b for b in capture.ids.choices.children if b.value == "capture"))
    await ui.until(
        lambda: "accept" in capture.session.choices and picture.texture is not None, "review"
    )
    await ui.until(lambda: picture.texture.height > picture.texture.width, "the corrected page")
    await visit("capture_review")
    await ui.tap(capture.content.ids.zoom)
    await ui.until(lambda: capture.magnifier.get_root_window() is not None, "the magnified page")
    await visit("capture_zoom")
    await ui.tap(capture.content.ids.zoom)
    await ui.until(lambda: picture.get_root_window() is not None, "the whole page")
    await ui.tap(next(b for b in capture.ids.choices.children if b.value == "cancel"))
    await ui.on_screen("home")


def shown_name(app: Any, code: str) -> str:
    return str(app.items[code].shown(app.language).name)


async def visit_timed_out(ui: Driver, visit: Visit) -> None:
    """A session whose time runs out: home, with the word that it ended and was cleared."""
    app = ui.app
    await ui.tap_text(shown_name(app, "id_card_print"))
    await ui.tap(app.screen("item").ids.start)
    await ui.on_screen("card")
    app.journey.end("timeout")  # as the countdown does when it reaches zero
    await ui.on_screen("home")
    await ui.until(lambda: bool(app.root.notice), "the notice")
    await visit("home_timed_out")


async def visit_leave_dialog(ui: Driver, k: Kiosk, items: Any, visit: Visit) -> None:
    app = ui.app
    await ui.tap_text(shown_name(app, "id_card_print"))
    await ui.tap(app.screen("item").ids.start)
    await ui.on_screen("card")
    await ui.tap(app.root.nav_bar.ids.home)
    await ui.until(lambda: app.leave_dialog is not None and app.leave_dialog.parent, "dialog")
    await visit("leave_dialog")
    await ui.tap(app.leave_dialog.ids.leave)
    await ui.on_screen("home")


@pytest.mark.timeout(150)  # 29 screens of a whole kiosk, each measured and photographed
@pytest.mark.parametrize("mode", [("zh_CN", False), ("en", False), ("zh_CN", True)], ids=str)
async def test_every_screen_meets_the_numbers(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path, mode: Tuple[str, bool]
) -> None:
    language, large = mode
    app = ui.app
    visit = Visit(ui, screenshot_dir(tmp_path), language, large)
    try:
        i18n.set_language(language)
        app.text_scale = theme.LARGE_TEXT if large else 1.0
        async with kiosk(tmp_path, ui_bus, cupsd, MAINTENANCE + CAMERAS, FACE) as k:
            await tour(ui, k, cupsd, visit)
        await ui.on_screen("unavailable")
        await visit("unavailable")
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
        app.text_scale = 1.0
    assert visit.problems == [], "\n".join(visit.problems)
    assert len(visit.seen) == 29
    assert all((visit.out / f"{name}.png").stat().st_size > 10_000 for name in visit.seen)


async def test_status_bar_never_relies_on_colour_alone(ui: Driver) -> None:
    for entry in ui.app.root.status_bar.entries():
        assert entry.mark in ("√", "!", "×", "?")
        assert entry.text.strip()


async def test_an_item_changing_availability_keeps_its_tile(ui: Driver) -> None:
    """A camera going away makes the face items unavailable: their tiles say so in place,
    the same widgets, so a finger already on a tile still opens it; a new item rebuilds."""
    from govkiosk_ui.model import Item  # noqa: PLC0415 - Kivy set up by ui
    from govkiosk_ui.screens.catalogue import (  # noqa: PLC0415 - Kivy set up by ui
        UNAVAILABLE,
        CatalogueScreen,
        ItemTile,
    )

    screen = CatalogueScreen(name="availability-test")
    items = [Item("a", "无犯罪记录证明", "公安"), Item("b", "户籍证明", "公安", identity="card+face")]
    screen.show_groups([("公安", items)], "zh_CN")
    before = [w for w in walk(screen) if isinstance(w, ItemTile)]
    assert [t.value for t in before] == ["b", "a"]  # Kivy lists children last first
    changed = [items[0], dataclasses.replace(items[1], available=False)]
    screen.show_groups([("公安", changed)], "zh_CN")
    after = [w for w in walk(screen) if isinstance(w, ItemTile)]
    assert [id(t) for t in after] == [id(t) for t in before]
    assert after[0].line == i18n._(UNAVAILABLE)
    assert after[1].line != i18n._(UNAVAILABLE)
    screen.show_groups([("公安", [*changed, Item("c", "社保清单", "人社")])], "zh_CN")
    rebuilt = [w for w in walk(screen) if isinstance(w, ItemTile)]
    assert len(rebuilt) == 3
    assert not {id(t) for t in rebuilt} & {id(t) for t in before}
