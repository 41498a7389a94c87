"""Chinese line breaking (govkiosk_ui.textflow): the defects seen on the item screen, and
the rules fuzzed with any text, any width and a measure that is not additive."""

from __future__ import annotations

import time
import unicodedata
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk_ui.textflow import (
    CLOSING,
    OPENING,
    break_lines,
    is_ideograph,
    lone_last_character,
    units,
)


def cells(text: str) -> float:
    """Width in half-squares: a Chinese character or full-width mark is 2, the rest 1."""
    return float(sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text))


def kerned(text: str) -> float:
    """Like ``cells`` but wider than its pieces: each Latin pair adds a little (kerning)."""
    pairs = sum(1 for a, b in zip(text, text[1:]) if a.isascii() and b.isascii())
    return cells(text) + 0.3 * pairs


def flow(text: str, width: float) -> List[str]:
    return break_lines(text, width, cells)


def test_the_item_screens_conditions_break_by_the_rules() -> None:
    text = "申请人为年满 16 周岁的中国公民，本人持有效居民身份证到一体机办理"
    lines = flow(text, 14)
    assert lines == [
        "申请人为年满",
        "16 周岁的中国",
        "公民，本人持有",
        "效居民身份证到",
        "一体机办理",
    ]
    # The screenshot's width: "16" ended a line, "，本人" started one.
    lines = flow(text, 20)
    assert not any(line.endswith("16") for line in lines)
    assert not any(line[0] in CLOSING for line in lines)


def test_a_lone_last_character_takes_one_from_the_line_before() -> None:
    assert flow("本人有效居民身份证原件", 20) == ["本人有效居民身份证", "原件"]
    assert flow("本人有效居民身份证原件。", 20) == ["本人有效居民身份证", "原件。"]
    # Two characters on the last line are fine as they are.
    assert flow("本人有效居民身份证原件", 18) == ["本人有效居民身份证", "原件"]
    assert flow("本人有效居民身份证原件", 16) == ["本人有效居民身份", "证原件"]
    assert lone_last_character(["本人有效居民身份证原", "件"])
    assert not lone_last_character(["本人有效居民身份证", "原件"])
    assert not lone_last_character(["件"])


def test_closing_punctuation_pulls_the_character_before_it_down() -> None:
    assert flow("请携带身份证。谢谢", 12) == ["请携带身份", "证。谢谢"]
    assert flow("他说：“好的”，然后走了", 10) == ["他说：“好", "的”，然后", "走了"]
    assert flow("price 3, then 4.", 8) == ["price 3,", "then 4."]


def test_closing_punctuation_hangs_when_allowed() -> None:
    assert break_lines("请携带身份证。谢谢", 12, cells, hang=2) == ["请携带身份证。", "谢谢"]
    # More than the overhang allows: the character comes down instead.
    assert break_lines("请携带身份证。。谢谢", 12, cells, hang=2) == ["请携带身份", "证。。谢谢"]


def test_opening_punctuation_moves_down_with_what_follows() -> None:
    lines = flow("请到服务窗口《办理指南》查看", 12)
    assert lines == ["请到服务窗口", "《办理指南》", "查看"]
    assert not any(line[-1] in OPENING for line in flow("一二三四五（六七）", 10))


def test_numbers_stay_with_their_unit() -> None:
    assert flow("请在 30 秒内完成", 8) == ["请在", "30 秒内", "完成"]
    assert flow("一共 3 页", 8) == ["一", "共 3 页"]
    assert flow("今天是2026年12月6日", 12) == ["今天是2026年", "12月6日"]
    assert flow("这是第 9 步", 8) == ["这是", "第 9 步"]
    assert units("满16周岁") == ["满", "16周", "岁"]
    assert units("A4 纸两张") == ["A4 纸", "两", "张"]
    # Wider than the line: split by characters, the number still with its unit.
    assert flow("第0申申", 4) == ["第", "0申", "申"]
    assert flow("a0申申", 4) == ["a0申", "申"]
    # An opening mark holds on to what follows, across a space.
    assert flow("（ 申申", 4) == ["（ 申", "申"]


def test_latin_words_break_only_when_wider_than_the_line() -> None:
    assert flow("Please bring your card", 11) == ["Please", "bring your", "card"]
    assert flow("supercalifragilistic", 6) == ["superc", "alifra", "gilist", "ic"]
    assert flow("二维码 QR-code 扫描", 10) == ["二维码", "QR-code", "扫描"]


def test_newlines_are_kept_and_line_start_spaces_dropped() -> None:
    assert flow("第一行\n  第二行\n\n末", 20) == ["第一行", "第二行", "", "末"]
    assert flow("", 10) == [""]
    assert flow("   ", 10) == [""]


def test_a_width_measured_whole_is_respected() -> None:
    text = "ab ab ab ab ab ab ab ab"
    lines = break_lines(text, 8.5, kerned)
    assert all(kerned(line) <= 8.5 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


# --- fuzzed ---------------------------------------------------------------------------

ALPHABET = st.sampled_from(
    list("申请人为年满周岁的中国公民本件页秒第步")
    + list("，。、；：？！）》」』】…—（《「『【“”‘’")
    + list("abcXYZ0123456789 ,.;:?!()[]-%\n")
)
TEXTS = st.lists(ALPHABET, max_size=120).map("".join)


def squeeze(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


def one_piece(line: str) -> bool:
    """A line over the width is allowed only when it is one unbreakable piece: one
    character with the punctuation that may not leave it."""
    tail = squeeze(line).rstrip("".join(CLOSING))
    return len(tail.lstrip("".join(OPENING))) <= 1


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.integers(min_value=1, max_value=40), st.sampled_from([cells, kerned]))
def test_fuzzed_nothing_lost_lines_fit(text: str, width: int, measure: object) -> None:
    assert callable(measure)
    lines = break_lines(text, width, measure)
    assert squeeze("".join(lines)) == squeeze(text)
    assert len(lines) >= text.count("\n") + 1
    for line in lines:
        assert line == line.strip()
        assert measure(line) <= width or one_piece(line), (line, lines)


@settings(max_examples=400, deadline=None)
@given(TEXTS.map(lambda t: t.replace("\n", "")), st.integers(min_value=4, max_value=40))
def test_fuzzed_no_line_starts_with_closing_punctuation(text: str, width: int) -> None:
    lines = break_lines(text, width, cells)
    for before, line in zip(lines, lines[1:]):
        assert line[0] not in CLOSING, (before, line)
        assert before[-1] not in OPENING, (before, line)
        # A number and a Chinese character after it are parted only if together (with
        # the punctuation that may not leave them) they are wider than a line.
        if before[-1].isdigit() and is_ideograph(line[0]):
            # Each with what may not leave it (punctuation, a word run into it).
            assert cells(units(before)[-1] + units(line)[0]) > width, (before, line)
    if len(lines) >= 2 and lone_last_character(lines):
        # Only when the line before cannot give a unit (one unit, or it would not fit).
        before = [unit for unit in units(lines[-2]) if not unit.isspace()]
        if len(before) > 1:
            # What moving the unit down would make the last line: the text's tail from it.
            wanted = len(squeeze(before[-1] + lines[-1]))
            start = len(text)
            while len(squeeze(text[start:])) < wanted:
                start -= 1
            assert cells(text[start:].strip()) > width, lines[-2:]


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=5, max_value=60))
def test_long_text_is_fast(width: int) -> None:
    text = "申请人为年满 16 周岁的中国公民，本人持有效居民身份证（原件）到一体机办理。" * 400
    started = time.monotonic()
    lines = break_lines(text + " word" * 2000, width, cells)
    assert time.monotonic() - started < 2.0
    assert squeeze("".join(lines)) == squeeze(text + " word" * 2000)
