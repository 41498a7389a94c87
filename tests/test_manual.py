"""The operations manual (docs/manual/): its generated tables cover every alarm code the
daemon raises and every staff code, and its Markdown reader takes any text.

The PDF itself is built by ``make manual``, not here; one small page is drawn to show the
renderer and its Chinese font work.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Set

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.session.staffcodes import STAFF_CODES

ROOT = Path(__file__).resolve().parent.parent
MANUAL = ROOT / "docs" / "manual"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"manual_{name}", MANUAL / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tables = _load("tables")
build = _load("build")


def _codes_in(markdown: str) -> Set[str]:
    return set(re.findall(r"^\| [^|]+ \| `([^`]+)` \|", markdown, re.MULTILINE))


def test_every_alarm_code_has_a_meaning_and_no_meaning_is_stale() -> None:
    raised = set(tables.alarm_codes())
    assert {"on_battery", "printer.paper_out", "usb.tamper", "seal.tampered", "face.fallback"} <= (
        raised
    )
    assert raised - set(tables.MEANINGS) == set(), "add these codes to docs/manual/tables.py"
    assert set(tables.MEANINGS) - raised == set(), "the daemon no longer raises these codes"


def test_the_manual_shows_every_alarm_code_with_its_meaning() -> None:
    source = (MANUAL / "manual.md").read_text(encoding="utf-8")
    assert "<!-- generated: alarm-table -->" in source
    expanded = tables.expand(source)
    assert _codes_in(expanded) >= set(tables.alarm_codes())
    assert "（未说明）" not in expanded
    row = next(
        line for line in expanded.splitlines() if line.startswith("| A4 打印机 | `printer.jam`")
    )
    assert tables.MEANINGS["printer.jam"].action in row


def test_the_manual_shows_every_staff_code() -> None:
    source = (MANUAL / "manual.md").read_text(encoding="utf-8")
    assert "<!-- generated: staff-code-table -->" in source
    expanded = tables.expand(source)
    shown = set(re.findall(r"^\| ([A-Z]\d\d) \|", expanded, re.MULTILINE))
    assert shown == set(STAFF_CODES.values())
    p01 = next(line for line in expanded.splitlines() if line.startswith("| P01 |"))
    assert "`printer.paper_out`" in p01
    assert "打印机缺纸" in p01  # the citizen's sentence from session/failures.py


def test_a_new_alarm_in_the_daemon_is_found(tmp_path: Path) -> None:
    (tmp_path / "thing").mkdir()
    (tmp_path / "thing" / "watch.py").write_text(
        'SOURCE = "thing"\n'
        "def go(bus):\n"
        '    bus.publish(Alarm(SOURCE, "thing.broken", Severity.WARNING, "x"))\n'
        "class W:\n"
        "    def _alarm(self, code, severity, message):\n"
        "        self._bus.publish(Alarm(SOURCE, code, severity, message))\n"
        "    def check(self):\n"
        '        self._alarm("thing.loose", Severity.INFO, "y")\n',
        encoding="utf-8",
    )
    assert tables.alarm_codes(tmp_path) == {"thing.broken": "thing", "thing.loose": "thing"}
    table = tables.alarm_table(tmp_path)
    assert "| thing | `thing.broken` | （未说明） |" in table


def test_an_alarm_code_computed_where_the_manual_cannot_see_fails(tmp_path: Path) -> None:
    (tmp_path / "odd.py").write_text(
        'def go(bus, code):\n    bus.publish(Alarm("odd", code, Severity.INFO, "x"))\n',
        encoding="utf-8",
    )
    with pytest.raises(tables.UnresolvedAlarmError, match=r"odd\.py:2: alarm code computed"):
        tables.alarm_codes(tmp_path)


def test_markdown_blocks() -> None:
    blocks = build.parse(
        "# 标题\n\n正文第一行\n第二行 and\nwords\n\n- 甲\n- 乙\n  续\n\n1. 一\n2. 二\n\n"
        "> 注意\n\n| a | b |\n|---|---|\n| `x\\|y` | 2 |\n| 3 |\n\n![图](screenshots/home.png)\n\n"
        "<!-- a comment\nover lines -->\n```\ncode  kept\n```\n"
    )
    assert [(b.kind, b.text) for b in blocks[:2]] == [
        ("heading", "标题"),
        ("para", "正文第一行第二行 and words"),
    ]
    assert blocks[2].items == ["甲", "乙 续"]
    assert blocks[3].kind == "numbers"
    assert blocks[3].items == ["一", "二"]
    assert (blocks[4].kind, blocks[4].text) == ("note", "注意")
    assert blocks[5].rows == [["a", "b"], ["`x|y`", "2"], ["3", ""]]
    assert (blocks[6].kind, blocks[6].items) == ("figure", ["screenshots/home.png"])
    assert (blocks[7].kind, blocks[7].text) == ("code", "code  kept")
    assert len(blocks) == 8


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("#|-*>!`[]()1. \n\t文a<!->")), max_size=300))
def test_any_text_parses_into_well_formed_blocks(text: str) -> None:
    for block in build.parse(text):
        assert block.kind in {
            "heading",
            "para",
            "bullets",
            "numbers",
            "note",
            "table",
            "figure",
            "code",
        }
        if block.kind == "table":
            assert len({len(row) for row in block.rows}) == 1
        build.inline(block.text)  # markup is always escaped


def test_inline_markup_escapes_everything_else() -> None:
    assert build.inline("a<b> `c&d` **粗**") == (
        'a&lt;b&gt; <font name="Mono" color="#8a1a1a">c&amp;d</font> <font color="#0b3d91">粗</font>'
    )


def test_a_page_is_drawn_with_the_chinese_font(tmp_path: Path) -> None:
    source = tmp_path / "m.md"
    source.write_text(
        "# 手册\n\n# 一、章\n\n正文。\n\n| 代码 | 含义 |\n|---|---|\n| `x` | 甲 |\n\n"
        "![缺少的截图](screenshots/none.png)\n",
        encoding="utf-8",
    )
    out = tmp_path / "m.pdf"
    pages, missing = build.build(source, out, tmp_path)
    assert missing == ["screenshots/none.png"]
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert pages == 3  # cover, contents, the chapter
    assert b"WenQuanYi" in data or b"Hei" in data
