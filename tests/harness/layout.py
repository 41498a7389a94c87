"""Layout checks over a live Kivy widget tree: what the eye sees on a screenshot.

``layout_problems(root, screen)`` walks the widgets shown under ``root`` and names, one
string each:

- **clipped**: a label's rendered text larger than its box (outside a scroll view); in a
  scroll view, a line of text cut by the viewport's edge where the view gives no hint
  (a ``HintedScrollView`` says ``more_below`` / ``more_above``; a plain one never does),
  or whose visible part stands past the hint's fade (``fade_height``, ``hint_height``);
- **overflow**: a widget outside its parent's box (a scroll view's content and widgets
  marked ``floating`` excepted);
- **overlap**: two leaves (labels, buttons, images) whose drawn extents — a label's box
  and its text, which may stand past the box — overlap, neither inside the other, clipped
  to any scroll view they are in; an overlay (a ``ModalView``, a ``floating`` widget) is
  compared only with its own leaves; a line of text drawn under its scroll view's bar;
- **line breaks** in the lines Kivy actually rendered (the core label's ``_cached_lines``,
  or a ``FlowingText``'s ``lines``): a line that starts with closing punctuation, a number
  at a line's end whose unit starts the next, one Chinese character alone on a
  paragraph's last line.

``font_sizes(root)`` and ``shrunk_in_large(normal, large, screen)`` compare two visits of
the same screen: a label smaller in large-text mode than in normal mode.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from govkiosk_ui.textflow import CLOSING, is_ideograph, lone_last_character
from harness.kivy_ui import shown, walk

#: Pixels of slack: Kivy rounds positions and texture sizes to whole pixels.
SLACK = 1.5
#: A line cut by less than this at an edge is not "cut" (antialiasing, line spacing).
CUT = 3.0

Box = Tuple[float, float, float, float]  # left, bottom, right, top (window coordinates)


def layout_problems(root: Any, screen: str) -> List[str]:
    """Every layout defect among the widgets shown under ``root``; empty when none."""
    visible = [w for w in walk(root) if shown(w)]
    problems: List[str] = []
    for widget in visible:
        problems += _clipped(widget, screen)
        problems += _under_bar(widget, screen)
        problems += _overflow(widget, screen)
        problems += _breaks(widget, screen)
    problems += _overlaps(visible, screen)
    return problems


# --- geometry -------------------------------------------------------------------------


def box(widget: Any) -> Box:
    """``widget``'s box in window coordinates."""
    x, y = widget.to_window(widget.x, widget.y)
    return (x, y, x + widget.width, y + widget.height)


def text_box(label: Any) -> Box:
    """Where a label's text is drawn: its texture, centred on the label (Kivy's rule)."""
    x, y = label.to_window(label.center_x, label.center_y)
    w, h = label.texture_size
    return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def intersection(a: Box, b: Box) -> Optional[Box]:
    left, bottom, right, top = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if right - left <= SLACK or top - bottom <= SLACK:
        return None
    return (left, bottom, right, top)


def inside(inner: Box, outer: Box) -> bool:
    return (
        inner[0] >= outer[0] - SLACK
        and inner[1] >= outer[1] - SLACK
        and inner[2] <= outer[2] + SLACK
        and inner[3] <= outer[3] + SLACK
    )


def ancestors(widget: Any) -> Iterator[Any]:
    from kivy.core.window import WindowBase  # noqa: PLC0415

    node = widget.parent
    while node is not None and not isinstance(node, WindowBase):
        yield node
        node = node.parent


def scroll_views(widget: Any) -> List[Any]:
    from kivy.uix.scrollview import ScrollView  # noqa: PLC0415 - Kivy once the UI set it up

    return [node for node in ancestors(widget) if isinstance(node, ScrollView)]


def overlay(widget: Any) -> Any:
    """The nearest overlay ``widget`` belongs to (a modal view, a floating widget), or None."""
    from kivy.uix.modalview import ModalView  # noqa: PLC0415

    for node in (widget, *ancestors(widget)):
        if isinstance(node, ModalView) or getattr(node, "floating", False):
            return node
    return None


def name(widget: Any) -> str:
    text = getattr(widget, "text", "")
    said = f" {text[:16]!r}" if isinstance(text, str) and text.strip() else ""
    return f"{type(widget).__name__}{said}"


def is_label(widget: Any) -> bool:
    from kivy.uix.label import Label  # noqa: PLC0415

    return isinstance(widget, Label)


# --- (a) clipped ----------------------------------------------------------------------


def _clipped(widget: Any, screen: str) -> List[str]:
    if not is_label(widget) or not widget.text.strip() or not widget.texture_size[1]:
        return []
    views = scroll_views(widget)
    if not views:
        tw, th = widget.texture_size
        if tw > widget.width + SLACK or th > widget.height + SLACK:
            return [
                f"{screen}: clipped: {name(widget)}'s text is {tw:.0f}×{th:.0f} "
                f"in a {widget.width:.0f}×{widget.height:.0f} box"
            ]
        return []
    view = views[0]
    port = box(view)
    found: List[str] = []
    fade = float(getattr(view, "fade_height", 0))
    band = float(getattr(view, "hint_height", 0))
    for top, bottom, line in rendered_line_boxes(widget):
        for edge, shows, more, side, covered in (
            (port[1], top - port[1], "more_below", "bottom", fade + band),
            (port[3], port[3] - bottom, "more_above", "top", fade),
        ):
            if not bottom < edge - CUT < edge + CUT < top:
                continue
            if not getattr(view, more, False):
                found.append(
                    f"{screen}: clipped: {name(widget)}: the line {line[:12]!r} is cut by the "
                    f"{side} of its scroll view, with no hint that there is more"
                )
            elif shows > covered + CUT:
                found.append(
                    f"{screen}: clipped: {name(widget)}: the line {line[:12]!r} is cut by the "
                    f"{side} of its scroll view and shows {shows:.0f} px, past its "
                    f"{covered:.0f} px fade"
                )
    return found


def rendered_line_boxes(label: Any) -> List[Tuple[float, float, str]]:
    """(top, bottom, text) of each line as drawn, in window coordinates."""
    lines = kivy_lines(label)
    if not lines:
        return []
    _left, bottom, _right, top = text_box(label)
    padding_top = float(label.padding[1])
    heights = [float(getattr(line, "h", 0)) for line in getattr(label._label, "_cached_lines", [])]
    if len(heights) != len(lines) or not all(heights):
        even = (top - bottom - padding_top - float(label.padding[3])) / len(lines)
        heights = [even] * len(lines)
    found = []
    y = top - padding_top
    for (text, _wrapped, _last), h in zip(lines, heights):
        found.append((y, y - h, text))
        y -= h
    return found


def rendered_line_spans(label: Any) -> List[Box]:
    """Each drawn line's ink box (its measured width, where alignment put it)."""
    core_lines = getattr(getattr(label, "_label", None), "_cached_lines", None) or []
    boxes = rendered_line_boxes(label)
    if len(core_lines) != len(boxes):
        return []
    left = text_box(label)[0]
    return [
        (left + line.x, bottom, left + line.x + line.w, top)
        for line, (top, bottom, _text) in zip(core_lines, boxes)
        if line.w
    ]


def _under_bar(widget: Any, screen: str) -> List[str]:
    """Text drawn under the scroll bar of the scroll view it is in (while the bar shows)."""
    views = scroll_views(widget)
    if not is_label(widget) or not widget.text.strip() or not views:
        return []
    view = views[0]
    if view.viewport_size[1] <= view.height + 0.5 or view.bar_width <= 0:
        return []  # no overflow: Kivy draws no bar
    right = box(view)[2] - float(view.bar_margin)
    bar = (right - float(view.bar_width), box(view)[1], right, box(view)[3])
    for span in rendered_line_spans(widget):
        if intersection(span, bar) is not None:
            return [
                f"{screen}: overlap: {name(widget)}'s text runs under its scroll view's bar "
                f"(give the content a right padding of the bar's width and margin)"
            ]
    return []


# --- (b) overflow -----------------------------------------------------------------------


def _overflow(widget: Any, screen: str) -> List[str]:
    from kivy.core.window import WindowBase  # noqa: PLC0415
    from kivy.uix.scrollview import ScrollView  # noqa: PLC0415

    parent = widget.parent
    if parent is None or parent is widget or isinstance(parent, WindowBase):
        return []  # the window's own children (the root, overlays) fill or float

    if isinstance(parent, ScrollView) or getattr(widget, "floating", False):
        return []
    if not shown(parent) or inside(box(widget), box(parent)):
        return []
    return [
        f"{screen}: overflow: {name(widget)} at {_rounded(box(widget))} "
        f"is outside its parent {name(parent)} at {_rounded(box(parent))}"
    ]


def _rounded(area: Box) -> Tuple[int, ...]:
    return tuple(round(v) for v in area)


# --- (c) overlap ------------------------------------------------------------------------


def leaves(visible: Sequence[Any]) -> List[Tuple[Any, Box]]:
    """Labels, buttons and images, each with its drawn extent clipped to its scroll views."""
    from kivy.uix.image import Image  # noqa: PLC0415

    found = []
    for widget in visible:
        if is_label(widget):
            if not widget.text.strip() and not _is_button(widget):
                continue
            extent = union(box(widget), text_box(widget))
        elif isinstance(widget, Image):
            extent = box(widget)
        else:
            continue
        clipped: Optional[Box] = extent
        for view in scroll_views(widget):
            clipped = intersection(clipped, box(view)) if clipped else None
        if clipped is not None:
            found.append((widget, clipped))
    return found


def _is_button(widget: Any) -> bool:
    from kivy.uix.button import Button  # noqa: PLC0415

    return isinstance(widget, Button)


def _overlaps(visible: Sequence[Any], screen: str) -> List[str]:
    drawn = leaves(visible)
    found: List[str] = []
    for index, (a, area_a) in enumerate(drawn):
        lineage_a = set(map(id, ancestors(a)))
        for b, area_b in drawn[index + 1 :]:
            if id(b) in lineage_a or id(a) in set(map(id, ancestors(b))):
                continue  # a label inside its button
            if overlay(a) is not overlay(b):
                continue  # a dialog over the screen covers it by design
            common = intersection(area_a, area_b)
            if common is not None:
                found.append(
                    f"{screen}: overlap: {name(a)} and {name(b)} overlap by "
                    f"{common[2] - common[0]:.0f}×{common[3] - common[1]:.0f} px"
                )
    return found


# --- (d, e, f) line breaks ------------------------------------------------------------


def kivy_lines(label: Any) -> List[Tuple[str, bool, bool]]:
    """(text, wraps from the line before, last of its paragraph) per line as rendered."""
    flowed = getattr(label, "lines", None)
    if isinstance(flowed, (list, tuple)) and hasattr(label, "_flows"):
        paragraphs = label.text.split("\n")
        return _flowed_lines(list(flowed), paragraphs)
    core = getattr(label, "_label", None)
    found = []
    for line in getattr(core, "_cached_lines", []) or []:
        text = "".join(word.text for word in line.words)
        found.append((text, bool(line.line_wrap), bool(line.is_last_line)))
    return found


def _flowed_lines(lines: List[str], paragraphs: List[str]) -> List[Tuple[str, bool, bool]]:
    """A flowing label's lines, marked by paragraph (matched on their characters)."""
    found: List[Tuple[str, bool, bool]] = []
    queue = list(lines)
    for paragraph in paragraphs:
        remaining = "".join(paragraph.split())
        first = True
        while queue:
            line = queue.pop(0)
            remaining = remaining[len("".join(line.split())) :]
            found.append((line, not first, not remaining))
            first = False
            if not remaining:
                break
    return found


def _breaks(widget: Any, screen: str) -> List[str]:
    if not is_label(widget) or not widget.text.strip():
        return []
    lines = kivy_lines(widget)
    found: List[str] = []
    paragraph: List[str] = []
    for index, (text, wrapped, last) in enumerate(lines):
        stripped = text.strip()
        if wrapped and stripped and stripped[0] in CLOSING:
            found.append(f"{screen}: break: {name(widget)}: a line starts with {stripped[0]!r}")
        if wrapped and index and stripped and is_ideograph(stripped[0]):
            before = lines[index - 1][0].rstrip()
            if before and before[-1].isdigit():
                found.append(
                    f"{screen}: break: {name(widget)}: a number ends a line "
                    f"({before[-6:]!r}) and its unit starts the next ({stripped[:2]!r})"
                )
        paragraph = [*paragraph, text] if wrapped else [text]
        if last and lone_last_character(paragraph):
            found.append(
                f"{screen}: break: {name(widget)}: {stripped!r} stands alone on the last line"
            )
    return found


# --- (g) large text ---------------------------------------------------------------------


def font_sizes(root: Any) -> Dict[str, float]:
    """The font size of each shown label, by its place in the tree (stable across visits)."""
    sizes: Dict[str, float] = {}

    def visit(widget: Any, path: str) -> None:
        if is_label(widget) and widget.text.strip() and shown(widget):
            sizes[path] = float(widget.font_size)
        for index, child in enumerate(reversed(widget.children)):
            visit(child, f"{path}/{type(child).__name__}[{index}]")

    visit(root, type(root).__name__)
    return sizes


def shrunk_in_large(normal: Dict[str, float], large: Dict[str, float], screen: str) -> List[str]:
    """Labels whose text is smaller in large-text mode than in normal mode."""
    return [
        f"{screen}: large text: {path.rsplit('/', 1)[-1]} is {large[path]:.0f} px in large "
        f"mode, {size:.0f} px in normal mode ({path})"
        for path, size in sorted(normal.items())
        if path in large and large[path] < size - 0.5
    ]
