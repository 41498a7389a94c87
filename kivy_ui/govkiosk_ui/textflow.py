"""Line breaking for Chinese text, with any font's measure.

The rules are those of Chinese typesetting (W3C *Requirements for Chinese Text Layout*,
clreq; GB/T 15834 on punctuation):

- a line may break between any two Chinese characters, and at spaces; a Latin word or a
  number is never broken, unless it alone is wider than the line (then by characters);
- no line starts with closing punctuation (，。、；：？！）》」』】〕〉”’…— and the ASCII
  , . ; : ? ! ) ]): it stays with the character before it, which moves down with it, or
  hangs past the line's end if ``hang`` allows;
- no line ends with opening punctuation（《「『【〔〈“‘ ( [: it moves down with what follows;
- a number stays with the unit or measure word after it (16 周岁, 30 秒, 3 页, 2026年,
  第 9 步);
- a paragraph does not end with one Chinese character alone on its last line (the widow
  "件"): the line before gives up one more unit;
- an explicit newline is kept; spaces at the start and end of a line are dropped.

Pure Python: ``measure`` is the rendered width of a string (the UI passes its font's
``get_extents``; tests pass character counts).
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Dict, Iterable, List, Sequence

Measure = Callable[[str], float]

#: Never at the start of a line.
CLOSING = frozenset(
    "，。、；：？！）》」』】〕〉〗〙〛”’…—～·・％"
    "\uff09\uff3d\uff5d\uff0e\uff61\uff64\ufe50\ufe51\ufe52"
    ",.;:?!)]}%"
)
#: Never at the end of a line.
OPENING = frozenset("（《「『【〔〈〖〘〚“‘\uff08\uff3b\uff5b([{")
#: Characters that may be part of a number ("3.5", "1,000", "12:30", "50%").
_NUMERIC = frozenset("0123456789.,:%/-+")
#: Prefixes kept with the number after them (第 9 步).
_PREFIXES = frozenset("第约共")


def is_wide(char: str) -> bool:
    """A character set as one square: a Chinese character or full-width punctuation."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def is_ideograph(char: str) -> bool:
    """A wide character that is not punctuation (a Chinese character, kana, hangul)."""
    return is_wide(char) and char not in CLOSING and char not in OPENING and not char.isspace()


def is_number(word: str) -> bool:
    return any(c.isdigit() for c in word) and all(c in _NUMERIC or c.isdigit() for c in word)


def break_lines(text: str, width: float, measure: Measure, *, hang: float = 0.0) -> List[str]:
    """``text`` as lines no wider than ``width`` by ``measure``, broken by Chinese rules.

    Only a unit that cannot be broken (one character) may be wider than ``width``; with
    ``hang`` > 0 closing punctuation may stand that far past the end of a line rather
    than pull the character before it down.
    """
    widths: Dict[str, float] = {}

    def cached(piece: str) -> float:
        found = widths.get(piece)
        if found is None:
            found = widths[piece] = measure(piece)
        return found

    lines: List[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_paragraph(paragraph, width, cached, measure, hang))
    return lines


# --- units ------------------------------------------------------------------------------


def atoms(paragraph: str) -> List[str]:
    """Runs of spaces, single wide characters, and runs of everything else (Latin words)."""
    found: List[str] = []
    start = 0
    kind = ""
    for index, char in enumerate(paragraph):
        this = "s" if char.isspace() else ("w" if _alone(char) else "l")
        if index and (this == "w" or this != kind):
            found.append(paragraph[start:index])
            start = index
        kind = this
    if paragraph:
        found.append(paragraph[start:])
    return found


def _alone(char: str) -> bool:
    """A character that is an atom by itself: wide, or non-ASCII punctuation (… — “)."""
    return is_wide(char) or (not char.isascii() and (char in CLOSING or char in OPENING))


def _space(atom: str) -> bool:
    return atom[0].isspace()


#: How strongly atoms hold together: punctuation to its neighbour always; a number to
#: its unit, then a prefix to its number, only while the whole still fits a line.
PUNCTUATION, NUMBERS, PREFIXES = 1, 2, 3


def _glued(parts: Sequence[str], index: int, level: int) -> bool:
    """Whether the atoms ``parts[index - 1]`` and ``parts[index]`` must stay on one line."""
    left, right = parts[index - 1], parts[index]
    if _space(right):
        # "16 周岁", "第 9 步", "（ 注", "中 ，": no break at a space these rules forbid.
        after = parts[index + 1] if index + 1 < len(parts) else ""
        return bool(after) and not _space(left) and _kept(left, after, level)
    if _space(left):
        return index >= 2 and _kept(parts[index - 2], right, level)
    return _kept(left, right, level)


def _kept(left: str, right: str, level: int) -> bool:
    if right[0] in CLOSING or left[-1] in OPENING:
        return True
    # A number (or a word ending in digits: "A4 纸") and the character after it.
    if level >= NUMBERS and left[-1].isdigit() and is_ideograph(right[0]):
        return True
    return level >= PREFIXES and left in _PREFIXES and is_number(right)


def _group(parts: Sequence[str], level: int) -> List[str]:
    found: List[str] = []
    for index, atom in enumerate(parts):
        if found and _glued(parts, index, level):
            found[-1] += atom
        else:
            found.append(atom)
    return found


def units(paragraph: str) -> List[str]:
    """The paragraph as pieces a line may break between (spaces are pieces of their own)."""
    return _group(atoms(paragraph), PREFIXES)


def _pieces(unit: str, width: float, cached: Measure, level: int = NUMBERS) -> List[str]:
    """A unit too wide for a line, split where it holds least: a prefix from its number,
    then a number from its unit, then a word into characters (punctuation always kept
    with its neighbour); each part split further only while it is still too wide."""
    parts = _group(atoms(unit), level) if level else _group(list(unit), level)
    found: List[str] = []
    for part in parts:
        if level and len(part) > 1 and cached(part) > width:
            found.extend(_pieces(part, width, cached, level - 1))
        else:
            found.append(part)
    return found


# --- lines ------------------------------------------------------------------------------


class _Line:
    def __init__(self) -> None:
        self.units: List[str] = []
        self.width = 0.0
        self.space = ""  # a space waiting for the next unit


def _paragraph(
    paragraph: str, width: float, cached: Measure, measure: Measure, hang: float
) -> List[str]:
    lines: List[List[str]] = []
    line = _Line()

    def close() -> None:
        nonlocal line
        if line.units:
            if line.space:  # kept at the end (dropped when shown) so a moved unit keeps it
                line.units.append(line.space)
            lines.append(line.units)
        line = _Line()

    def place(unit: str) -> None:
        extra = (cached(line.space) if line.units and line.space else 0.0) + cached(unit)
        if not line.units or line.width + extra <= width or _hangs(line, unit, width, cached, hang):
            if line.units and line.space:
                line.units.append(line.space)
            line.units.append(unit)
            line.width += extra
        else:
            close()
            line.units.append(unit)
            line.width = cached(unit)
        line.space = ""

    for unit in units(paragraph):
        too_wide = cached(unit) > width and not _hangs(_Line(), unit, width, cached, hang)
        for piece in _pieces(unit, width, cached) if too_wide else [unit]:
            if _space(piece):
                line.space = piece if line.units else ""
            else:
                place(piece)
    close()
    lines = _refit(lines, width, measure, hang)
    lines = _no_widow(lines, width, measure)
    return ["".join(units).strip() for units in lines] or [""]


def _hangs(line: _Line, unit: str, width: float, cached: Measure, hang: float) -> bool:
    """Whether ``unit``'s closing punctuation may stand past the line's end."""
    if hang <= 0 or unit[-1] not in CLOSING:
        return False
    base = unit.rstrip("".join(CLOSING))
    if not base:
        return False
    space = cached(line.space) if line.units and line.space else 0.0
    before = line.width + space
    return before + cached(base) <= width and before + cached(unit) <= width + hang


def _refit(lines: List[List[str]], width: float, measure: Measure, hang: float) -> List[List[str]]:
    """Lines measured whole (kerning makes a line wider than its pieces): move units down."""
    result: List[List[str]] = []
    queue = list(lines)
    while queue:
        line = queue.pop(0)
        carry: List[str] = []
        while len(_content(line)) > 1 and measure("".join(line).strip()) > width + hang:
            _move_last(line, carry)
        result.append(line)
        if carry:
            if queue:
                queue[0] = carry + queue[0]
            else:
                queue.append(carry)
    return result


def _move_last(line: List[str], into: List[str]) -> None:
    """The last unit of ``line`` (with the spaces around it) to the front of ``into``."""
    while line and _space(line[-1]):
        into.insert(0, line.pop())
    into.insert(0, line.pop())
    while line and _space(line[-1]):
        into.insert(0, line.pop())


def _content(line: Iterable[str]) -> List[str]:
    return [unit for unit in line if not _space(unit)]


def _no_widow(lines: List[List[str]], width: float, measure: Measure) -> List[List[str]]:
    """One Chinese character alone on a paragraph's last line takes a unit from the line before."""
    if len(lines) < 2:
        return lines
    last, before = lines[-1], lines[-2]
    if not _lone_character(last) or len(_content(before)) < 2:
        return lines
    rest = list(before)
    moved: List[str] = []
    _move_last(rest, moved)
    candidate = moved + last
    if measure("".join(candidate).strip()) > width:
        return lines
    return [*lines[:-2], rest, candidate]


def _lone_character(line: Sequence[str]) -> bool:
    text = "".join(line).strip().rstrip("".join(CLOSING))
    return len(text) == 1 and is_ideograph(text)


def lone_last_character(lines: Sequence[str]) -> bool:
    """Whether the last of several lines holds one Chinese character (and punctuation)."""
    if len(lines) < 2 or not lines[-2].strip():
        return False
    return _lone_character([lines[-1]])
