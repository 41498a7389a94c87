"""The layout checks (harness/layout.py) on small widget trees in the real Kivy window:
each defect seen on the screens is built here and must be reported; its fixed version,
with the flowing label and the hinted scroll view, must not be."""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator, Callable, List

import pytest

from harness.kivy_ui import Driver
from harness.layout import (
    font_sizes,
    kivy_lines,
    layout_problems,
    rendered_line_boxes,
    shrunk_in_large,
)

pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session")]

CONDITION = "申请人为年满16周岁的中国公民，本人持有效居民身份证到一体机办理"
MATERIAL = "本人有效居民身份证原件"
FONT = 24


def load_kv() -> None:
    from kivy.lang import Builder  # noqa: PLC0415 - Kivy only once the ui fixture set it up

    from govkiosk_ui.app import KV_DIR  # noqa: PLC0415

    for name in ("flowing_text.kv", "hinted_scroll.kv"):
        path = str(KV_DIR / name)  # as the app names it once it loads these files itself
        if path not in Builder.files:
            Builder.load_file(path)


def width_of(text: str, size: float = FONT) -> float:
    from kivy.core.text import Label as CoreLabel  # noqa: PLC0415

    return float(CoreLabel(font_size=size).get_extents(text)[0])


@contextlib.asynccontextmanager
async def mounted(ui: Driver, make: Callable[[], Any]) -> AsyncIterator[Any]:
    """The tree ``make`` builds, over the app in the window, laid out and drawn."""
    from kivy.core.window import Window  # noqa: PLC0415

    load_kv()
    tree = make()
    Window.add_widget(tree)
    try:
        await ui.frames(4)
        yield tree
    finally:
        Window.remove_widget(tree)


def frame(*children: Any, width: float = 600, height: float = 500) -> Any:
    from kivy.uix.floatlayout import FloatLayout  # noqa: PLC0415

    root = FloatLayout(size_hint=(None, None), size=(width, height), pos=(0, 0))
    for child in children:
        root.add_widget(child)
    return root


def wrapped_label(text: str, width: float, *, flowing: bool) -> Any:
    """A BodyText-like label ``width`` wide, Kivy's or the flowing one, placed in a frame."""
    from kivy.uix.label import Label  # noqa: PLC0415

    from govkiosk_ui.widgets.flowing_text import FlowingText  # noqa: PLC0415

    cls = FlowingText if flowing else Label
    label = cls(
        text=text,
        font_size=FONT,
        line_height=1.3,
        size_hint=(None, None),
        width=width,
        pos_hint={"x": 0, "top": 1},
    )
    label.text_size = (width, None)
    label.bind(texture_size=lambda w, size: setattr(w, "height", size[1]))
    return label


def kinds(problems: List[str]) -> List[str]:
    return sorted({p.split(": ")[1] for p in problems})


# --- line breaks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "prefix", "expected"),
    [
        (CONDITION, "申请人为年满16周岁的中国公民", "a line starts with '，'"),
        (CONDITION, "申请人为年满16", "a number ends a line"),
        (MATERIAL, "本人有效居民身份证原", "'件' stands alone on the last line"),
    ],
    ids=["closing-punctuation", "number-and-unit", "lone-character"],
)
async def test_kivy_breaks_are_reported_and_flowing_text_fixes_them(
    ui: Driver, text: str, prefix: str, expected: str
) -> None:
    width = width_of(prefix) + 2
    async with mounted(ui, lambda: frame(wrapped_label(text, width, flowing=False))) as tree:
        problems = layout_problems(tree, "item")
        lines = [line for line, _wrapped, _last in kivy_lines(tree.children[0])]
        assert lines[0] == prefix  # Kivy filled the line as the screenshot shows
        assert any(expected in p for p in problems), problems
        assert kinds(problems) == ["break"]
    async with mounted(ui, lambda: frame(wrapped_label(text, width, flowing=True))) as tree:
        label = tree.children[0]
        assert layout_problems(tree, "item") == []
        # Kivy drew exactly the lines the flowing label broke, each within the width.
        assert [line for line, _w, _l in kivy_lines(label)] == label.lines
        assert [line.strip() for line in _core_lines(label)] == label.lines
        assert all(width_of(line) <= width for line in label.lines)
        assert "".join(label.lines) == text


def _core_lines(label: Any) -> List[str]:
    return ["".join(word.text for word in line.words) for line in label._label._cached_lines]


async def test_flowing_text_reflows_on_width_and_font_size(ui: Driver) -> None:
    width = width_of("申请人为年满16周岁的") + 2
    async with mounted(ui, lambda: frame(wrapped_label(CONDITION, width, flowing=True))) as tree:
        label = tree.children[0]
        narrow = list(label.lines)
        one_line = label.height
        label.width = width * 2
        label.text_size = (width * 2, None)
        await ui.until(lambda: label.lines != narrow, "a reflow for the new width")
        assert len(label.lines) < len(narrow)
        label.font_size = FONT * 1.3
        await ui.until(lambda: len(label.lines) > 2, "a reflow for the larger font")
        await ui.frames(2)
        assert label.height > one_line / len(narrow) * len(label.lines)
        assert _core_lines(label) == label.lines
        assert layout_problems(tree, "item") == []


async def test_flowing_text_breaks_once_per_width(
    ui: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from govkiosk_ui.widgets import flowing_text  # noqa: PLC0415

    flows: List[Any] = []
    original = flowing_text.flow

    def counted(text: str, width: Any, measure: Any) -> Any:
        flows.append(width)
        return original(text, width, measure)

    monkeypatch.setattr(flowing_text, "flow", counted)
    wide, narrow = width_of(CONDITION) / 2, width_of(CONDITION) / 3
    async with mounted(ui, lambda: frame(wrapped_label(CONDITION, wide, flowing=True))) as tree:
        label = tree.children[0]
        before = len(flows)
        await ui.frames(5)
        assert len(flows) == before  # drawing frames does not break the text again
        for width in (narrow, wide, narrow, wide):
            label.text_size = (width, None)
            await ui.frames(2)
        assert flows[before:] == [narrow]  # each width broken once, then looked up
        label.text = MATERIAL
        await ui.frames(2)
        assert flows[-1] == wide
        assert label.lines == [MATERIAL]


async def test_flowing_text_aligns_and_keeps_newlines(ui: Driver) -> None:
    from govkiosk_ui.widgets.flowing_text import FlowingText  # noqa: PLC0415

    def labels() -> Any:
        centred = FlowingText(text=MATERIAL, font_size=FONT, halign="center")
        centred.size_hint_x = None
        centred.width = width_of("本人有效居民身份") + 2
        centred.pos_hint = {"x": 0, "top": 1}
        unwrapped = FlowingText(text="第一行\n第二行，很长很长很长很长", font_size=FONT)
        unwrapped.text_size = (None, None)
        unwrapped.size_hint = (None, None)
        unwrapped.pos_hint = {"x": 0, "y": 0}
        unwrapped.bind(texture_size=unwrapped.setter("size"))
        return frame(centred, unwrapped)

    async with mounted(ui, labels) as tree:
        unwrapped, centred = tree.children
        assert centred.lines == ["本人有效居民身份", "证原件"]
        assert centred.height == centred.texture_size[1] > 0
        short = centred._label._cached_lines[1]
        assert short.x > 0  # the shorter line centred, not at the left edge
        assert unwrapped.lines == ["第一行", "第二行，很长很长很长很长"]
        assert layout_problems(tree, "item") == []


# --- clipped ----------------------------------------------------------------------------


async def test_text_larger_than_its_box_is_clipped(ui: Driver) -> None:
    from kivy.uix.label import Label  # noqa: PLC0415

    def heading(fits: bool) -> Any:
        label = Label(text="办理条件", font_size=44, size_hint=(None, None), size=(300, 30))
        if fits:
            label.bind(texture_size=lambda w, size: setattr(w, "height", size[1]))
        return label

    async with mounted(ui, lambda: frame(heading(False))) as tree:
        problems = layout_problems(tree, "maintenance")
        assert kinds(problems) == ["clipped"], problems
        assert "'办理条件''s text is" in problems[0]
    async with mounted(ui, lambda: frame(heading(True))) as tree:
        assert layout_problems(tree, "maintenance") == []


def conditions(view_cls: Any, lines_shown: float, bar_room: float = 14) -> Any:
    """The item screen's conditions column: labels in a scroll view ``lines_shown`` lines
    high, ``bar_room`` px kept clear on the right for the scroll bar."""
    from kivy.uix.boxlayout import BoxLayout  # noqa: PLC0415

    from govkiosk_ui.widgets.flowing_text import FlowingText  # noqa: PLC0415

    line = FONT * 1.3 + 0.0
    view = view_cls(size_hint=(None, None), size=(320, 0), pos=(0, 0), do_scroll_x=False)
    column = BoxLayout(
        orientation="vertical", size_hint_y=None, spacing=6, padding=(0, 0, bar_room, 0)
    )
    column.bind(minimum_height=column.setter("height"))
    for text in (CONDITION, "证明内容为申请人在中华人民共和国境内有无犯罪记录", "不得代他人申请"):
        column.add_widget(FlowingText(text=text, font_size=FONT, line_height=1.3))
    view.add_widget(column)
    first = column.children[-1]
    first.bind(texture_size=lambda w, size: setattr(view, "height", _cut_height(w, lines_shown)))
    view.height = line * lines_shown
    return frame(view)


def _cut_height(label: Any, lines_shown: float) -> float:
    per_line = label.texture_size[1] / max(1, len(label.lines))
    return per_line * lines_shown


async def test_a_plain_scroll_view_cutting_a_line_is_reported(ui: Driver) -> None:
    from kivy.uix.scrollview import ScrollView  # noqa: PLC0415

    async with mounted(ui, lambda: conditions(ScrollView, 2.5)) as tree:
        problems = layout_problems(tree, "item")
        assert kinds(problems) == ["clipped"], problems
        assert "cut by the bottom of its scroll view" in problems[0]
        view = tree.children[0]
        view.scroll_y = 0
        await ui.frames(3)
        problems = layout_problems(tree, "item")
        assert any("cut by the top" in p for p in problems), problems


async def test_a_hinted_scroll_view_says_there_is_more(ui: Driver) -> None:
    from govkiosk_ui.widgets.hinted_scroll import HintedScrollView  # noqa: PLC0415

    async with mounted(ui, lambda: conditions(HintedScrollView, 2.5)) as tree:
        view = tree.children[0]
        await ui.until(lambda: view.more_below, "the hint below")
        assert not view.more_above
        assert view.hint_text
        assert view.hint_texture is not None
        # A line is cut by the edge (as with the plain view), but under the hint.
        column = view.children[0]
        cut = [
            line
            for label in column.children
            for top, bottom, line in rendered_line_boxes(label)
            if bottom < view.to_window(view.x, view.y)[1] < top
        ]
        assert cut
        assert layout_problems(tree, "item") == []
        view.scroll_y = 0
        await ui.until(lambda: view.more_above and not view.more_below, "the hint above only")
        assert layout_problems(tree, "item") == []


async def test_a_cut_line_showing_past_the_fade_is_reported(ui: Driver) -> None:
    from govkiosk_ui.widgets.hinted_scroll import HintedScrollView  # noqa: PLC0415

    async with mounted(ui, lambda: conditions(HintedScrollView, 2.7)) as tree:
        view = tree.children[0]
        await ui.until(lambda: view.more_below, "the hint below")
        assert layout_problems(tree, "item") == []
        view.hint_text = ""
        view.fade_height = 2
        await ui.until(lambda: view.hint_texture is None, "no hint")
        problems = layout_problems(tree, "item")
        assert kinds(problems) == ["clipped"], problems
        assert "past its 12 px fade" in problems[0]


async def test_text_under_the_scroll_bar_is_reported(ui: Driver) -> None:
    from govkiosk_ui.widgets.hinted_scroll import HintedScrollView  # noqa: PLC0415

    async with mounted(ui, lambda: conditions(HintedScrollView, 2.5, bar_room=0)) as tree:
        problems = layout_problems(tree, "item")
        assert kinds(problems) == ["overlap"], problems
        assert "text runs under its scroll view's bar" in problems[0]


async def test_a_scroll_view_whose_content_fits_shows_no_hint(ui: Driver) -> None:
    from govkiosk_ui.widgets.hinted_scroll import HintedScrollView  # noqa: PLC0415

    async with mounted(ui, lambda: conditions(HintedScrollView, 10)) as tree:
        view = tree.children[0]
        await ui.frames(3)
        assert view.viewport_size[1] < view.height
        assert not view.more_below
        assert not view.more_above
        assert layout_problems(tree, "item") == []


# --- overflow and overlap -----------------------------------------------------------------


async def test_a_widget_outside_its_parent_overflows(ui: Driver) -> None:
    from kivy.uix.boxlayout import BoxLayout  # noqa: PLC0415

    from govkiosk_ui.widgets.buttons import KioskButton  # noqa: PLC0415

    def panel(button_width: float) -> Any:
        box = BoxLayout(size_hint=(None, None), size=(300, 100), pos=(0, 0))
        box.add_widget(KioskButton(text="开始", size_hint=(None, None), size=(button_width, 80)))
        return frame(box)

    async with mounted(ui, lambda: panel(420)) as tree:
        problems = layout_problems(tree, "item")
        assert kinds(problems) == ["overflow"], problems
        assert "KioskButton '开始'" in problems[0]
    async with mounted(ui, lambda: panel(280)) as tree:
        assert layout_problems(tree, "item") == []


async def test_a_heading_over_a_button_overlaps(ui: Driver) -> None:
    """The maintenance screen in large mode: a heading's text stands past its box onto a button."""
    from kivy.uix.button import Button  # noqa: PLC0415
    from kivy.uix.label import Label  # noqa: PLC0415

    def screen(heading_size: float) -> Any:
        heading = Label(
            text="设备状态与维护", font_size=heading_size, size_hint=(None, None), size=(400, 40)
        )
        heading.pos_hint = {"x": 0, "y": 0.5}
        button = Button(text="打印测试页", size_hint=(None, None), size=(200, 60))
        button.pos_hint = {"x": 0.05, "top": 0.5}
        return frame(heading, button, height=200)

    async with mounted(ui, lambda: screen(80)) as tree:
        problems = layout_problems(tree, "maintenance")
        assert "overlap" in kinds(problems), problems
        assert any("'设备状态与维护'" in p and "'打印测试页'" in p for p in problems), problems
    async with mounted(ui, lambda: screen(30)) as tree:
        assert layout_problems(tree, "maintenance") == []


async def test_a_label_inside_its_button_is_no_overlap(ui: Driver) -> None:
    from kivy.uix.button import Button  # noqa: PLC0415
    from kivy.uix.label import Label  # noqa: PLC0415

    def button() -> Any:
        outer = Button(text="", size_hint=(None, None), size=(200, 80), pos=(0, 0))
        outer.add_widget(Label(text="√", size=(40, 40), pos=(10, 20), font_size=FONT))
        return frame(outer)

    async with mounted(ui, button) as tree:
        assert layout_problems(tree, "home") == []


# --- large text ---------------------------------------------------------------------------


async def test_a_heading_smaller_in_large_mode_is_reported(ui: Driver) -> None:
    from kivy.uix.boxlayout import BoxLayout  # noqa: PLC0415
    from kivy.uix.label import Label  # noqa: PLC0415

    def screen(scale: float, heading: float) -> Any:
        box = BoxLayout(orientation="vertical", size_hint=(None, None), size=(500, 300))
        box.add_widget(Label(text="服务暂不可用", font_size=heading))
        box.add_widget(Label(text="请稍候", font_size=FONT * scale))
        return frame(box)

    async with mounted(ui, lambda: screen(1.0, 44)) as tree:
        normal = font_sizes(tree)
    async with mounted(ui, lambda: screen(1.3, 36)) as tree:
        shrunk = shrunk_in_large(normal, font_sizes(tree), "unavailable")
    async with mounted(ui, lambda: screen(1.3, 44 * 1.3)) as tree:
        grown = shrunk_in_large(normal, font_sizes(tree), "unavailable")
    assert len(normal) == 2
    assert len(shrunk) == 1, shrunk
    assert "36 px in large mode, 44 px in normal mode" in shrunk[0]
    assert grown == []
