"""Builds the operations manual (运维手册) PDF from docs/manual/manual.md: ``make manual``.

The source is plain Markdown of a small kind: ``#``/``##``/``###`` headings, paragraphs,
``-`` and ``1.`` lists, ``>`` notes, pipe tables, ``![caption](screenshots/NAME.png)``
figures on a line of their own, fenced code, and inline ``code`` and ``**bold**``. A line
``<!-- generated: alarm-table -->`` (or ``staff-code-table``) is replaced by the table
``tables.py`` makes from the daemon's own code. The PDF is drawn with reportlab and the
WenQuanYi Zen Hei font (Debian ``fonts-wqy-zenhei``), both already needed elsewhere.

    python docs/manual/build.py --screenshots screenshots/zh_CN --out build/manual/manual.pdf
"""

from __future__ import annotations

import argparse
import datetime
import html
import os
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tables  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.lib.units import cm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
    XPreformatted,
)
from reportlab.platypus.doctemplate import BaseDocTemplate, PageTemplate  # noqa: E402
from reportlab.platypus.frames import Frame  # noqa: E402
from reportlab.platypus.tableofcontents import TableOfContents  # noqa: E402

import govkiosk  # noqa: E402

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",  # rpm-based systems
)


# --- Markdown (the subset above) → blocks ------------------------------------------


@dataclass
class Block:
    kind: str  # heading, para, bullets, numbers, note, table, figure, code
    text: str = ""
    level: int = 0
    items: List[str] = field(default_factory=list)
    rows: List[List[str]] = field(default_factory=list)


_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_FIGURE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_NUMBERED = re.compile(r"^\d+[.)]\s+")


def _cells(line: str) -> List[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [c.strip().replace("\\|", "|") for c in cells]


_STARTS = ("#", "- ", "* ", ">", "|", "![", "```")


class _Reader:
    """Reads the lines one block at a time; each ``_kind`` method consumes its lines."""

    def __init__(self, markdown: str) -> None:
        self._raw = [line.rstrip() for line in markdown.splitlines()]  # code keeps its indent
        self.lines = [line.strip() for line in self._raw]
        self.i = 0

    def more(self) -> bool:
        return self.i < len(self.lines)

    def line(self, offset: int = 0) -> str:
        at = self.i + offset
        return self.lines[at] if at < len(self.lines) else ""

    def block(self) -> Optional[Block]:
        line = self.line()
        if not line:
            self.i += 1
            return None
        if line.startswith("<!--"):  # a comment, over as many lines as it takes
            while self.more() and "-->" not in self.line():
                self.i += 1
            self.i += 1
            return None
        if line.startswith("```"):
            return self._code()
        heading = re.match(r"^(#{1,3})\s+(.*)$", line)
        if heading:
            self.i += 1
            return Block("heading", heading.group(2).strip(), len(heading.group(1)))
        figure = _FIGURE.match(line)
        if figure:
            self.i += 1
            return Block("figure", figure.group(1), items=[figure.group(2)])
        if line.startswith("|") and _TABLE_RULE.match(self.line(1)):
            return self._table()
        if line.startswith(("- ", "* ")) or _NUMBERED.match(line):
            return self._list(bool(_NUMBERED.match(line)))
        if line.startswith(">"):
            return self._note()
        return self._para()

    def _code(self) -> Block:
        self.i += 1
        start = self.i
        while self.more() and not self.line().startswith("```"):
            self.i += 1
        block = Block("code", "\n".join(self._raw[start : self.i]))
        self.i += 1
        return block

    def _table(self) -> Block:
        rows = [_cells(self.line())]
        self.i += 2
        while self.more() and self.line().startswith("|"):
            rows.append(_cells(self.line()))
            self.i += 1
        width = len(rows[0])
        return Block("table", rows=[(r + [""] * width)[:width] for r in rows])

    def _list(self, numbered: bool) -> Block:
        items: List[str] = []
        while self.more() and self.line():
            item = self.line()
            marker = _NUMBERED.match(item)
            if numbered and marker:
                items.append(item[marker.end() :])
            elif not numbered and item.startswith(("- ", "* ")):
                items.append(item[2:])
            else:
                items[-1] += " " + item  # a continuation line
            self.i += 1
        return Block("numbers" if numbered else "bullets", items=items)

    def _note(self) -> Block:
        text: List[str] = []
        while self.more() and self.line().startswith(">"):
            text.append(self.line()[1:].strip())
            self.i += 1
        return Block("note", _join(text))

    def _para(self) -> Block:
        text = [self.line()]
        self.i += 1
        while self.more() and self.line():
            line = self.line()
            if line.startswith(_STARTS) or _NUMBERED.match(line):
                break
            text.append(line)
            self.i += 1
        return Block("para", _join(text))


def parse(markdown: str) -> List[Block]:
    """Blocks of the Markdown subset; any text parses (unknown forms are paragraphs)."""
    reader = _Reader(markdown)
    blocks: List[Block] = []
    while reader.more():
        block = reader.block()
        if block is not None:
            blocks.append(block)
    return blocks


def _join(lines: Sequence[str]) -> str:
    """Joins wrapped lines: no space between Chinese characters, one between words."""
    out = ""
    for line in lines:
        if out and (out[-1].isascii() or line[:1].isascii()):
            out += " "
        out += line
    return out


def inline(text: str) -> str:
    """reportlab paragraph markup for ``code`` and **bold**; everything else escaped."""
    out: List[str] = []
    for i, part in enumerate(re.split(r"`([^`]*)`", text)):
        if i % 2:
            out.append(f'<font name="Mono" color="#8a1a1a">{html.escape(part)}</font>')
        else:
            escaped = html.escape(part)
            out.append(re.sub(r"\*\*(.+?)\*\*", r'<font color="#0b3d91">\1</font>', escaped))
    return "".join(out)


# --- Blocks → PDF ---------------------------------------------------------------

BLUE = colors.HexColor("#0b3d91")


def _font() -> str:
    for path in FONT_PATHS:
        if os.path.exists(path):
            return path
    raise SystemExit("manual: WenQuanYi Zen Hei not found; install fonts-wqy-zenhei")


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: Dict[str, Any] = {"fontName": "Hei", "fontSize": 10.5, "leading": 16, "wordWrap": "CJK"}
    base.update(kw)
    return ParagraphStyle(name, **base)


class _Styles:
    def __init__(self) -> None:
        self.body = _style("body", spaceAfter=5)
        self.item = _style(
            "item", spaceAfter=3, leftIndent=18, bulletIndent=4, bulletFontName="Helvetica"
        )
        self.cell = _style("cell", fontSize=8.5, leading=12)
        self.head_cell = _style("headcell", fontSize=8.5, leading=12, textColor=colors.white)
        self.note = _style(
            "note",
            backColor=colors.HexColor("#fff6d6"),
            borderColor=colors.HexColor("#e0b400"),
            borderWidth=0.6,
            borderPadding=6,
            spaceBefore=6,
            spaceAfter=10,
        )
        self.code = _style(
            "code",
            fontName="Mono",
            fontSize=8.5,
            leading=12,
            backColor=colors.HexColor("#f3f3f3"),
            borderPadding=5,
            spaceBefore=4,
            spaceAfter=10,
            leftIndent=4,
        )
        self.caption = _style(
            "caption", fontSize=9, alignment=1, textColor=colors.HexColor("#444444")
        )
        # A heading stays with what follows it (never alone at a page's foot).
        heading = {"keepWithNext": 1}
        self.headings = {
            1: _style("h1", fontSize=18, leading=26, spaceAfter=10, textColor=BLUE, **heading),
            2: _style(
                "h2",
                fontSize=13.5,
                leading=20,
                spaceBefore=10,
                spaceAfter=6,
                textColor=BLUE,
                **heading,
            ),
            3: _style("h3", fontSize=11.5, leading=18, spaceBefore=6, spaceAfter=4, **heading),
        }


class _Doc(BaseDocTemplate):  # type: ignore[misc]
    """Level-1 and level-2 headings go to the table of contents."""

    def afterFlowable(self, flowable: Any) -> None:
        level = getattr(flowable, "toc_level", None)
        if level is not None:
            self.notify("TOCEntry", (level, flowable.getPlainText(), self.page))


class _Story:
    """Turns blocks into flowables: one method per kind of block."""

    def __init__(self, width: float, screenshots: Optional[Path]) -> None:
        self.styles = _Styles()
        self.width = width
        self.screenshots = screenshots
        self.flowables: List[Any] = []
        self.figures = 0
        self.toc = TableOfContents()
        self.toc.levelStyles = [
            _style("toc1", fontSize=11, leading=18, leftIndent=0),
            _style("toc2", fontSize=9.5, leading=14, leftIndent=18),
        ]

    def add(self, block: Block) -> None:
        getattr(self, f"_{block.kind}")(block)

    def _heading(self, block: Block) -> None:
        if block.level == 1 and not self.flowables:  # the title: cover and contents
            self.flowables += _cover(block.text)
            self.flowables += [Paragraph("目录", self.styles.headings[1]), self.toc]
            return
        if block.level == 1:
            self.flowables.append(PageBreak())
        para = Paragraph(inline(block.text), self.styles.headings[block.level])
        if block.level <= 2:
            para.toc_level = block.level - 1
        self.flowables.append(para)

    def _para(self, block: Block) -> None:
        self.flowables.append(Paragraph(inline(block.text), self.styles.body))

    def _note(self, block: Block) -> None:
        self.flowables.append(Paragraph(inline(block.text), self.styles.note))

    def _code(self, block: Block) -> None:
        self.flowables.append(XPreformatted(html.escape(block.text), self.styles.code))

    def _bullets(self, block: Block) -> None:
        for text in block.items:
            self.flowables.append(Paragraph(inline(text), self.styles.item, bulletText="•"))

    def _numbers(self, block: Block) -> None:
        for n, text in enumerate(block.items, 1):
            self.flowables.append(Paragraph(inline(text), self.styles.item, bulletText=f"{n}."))

    def _table(self, block: Block) -> None:
        self.flowables += [_table(block.rows, self.width, self.styles), Spacer(1, 8)]

    def _figure(self, block: Block) -> None:
        self.figures += 1
        caption = self.styles.caption
        path = _figure_path(block.items[0], self.screenshots)
        if path is None:
            self.flowables.append(
                Paragraph(f"（截图缺失：{html.escape(block.items[0])}）", caption)
            )
            return
        image = Image(str(path))
        scale = min(self.width * 0.8 / image.imageWidth, 9 * cm / image.imageHeight)
        image.drawWidth = image.imageWidth * scale
        image.drawHeight = image.imageHeight * scale
        label = Paragraph(f"图 {self.figures}　{inline(block.text)}", caption)
        group = [Spacer(1, 4), image, label, Spacer(1, 8)]
        last = self.flowables[-1] if self.flowables else None
        if isinstance(last, Paragraph) and last.style.name in ("h1", "h2", "h3"):
            group.insert(0, self.flowables.pop())  # the heading goes where its figure goes
        self.flowables.append(KeepTogether(group))


def render(blocks: List[Block], out: Path, screenshots: Optional[Path], title: str) -> int:
    """Writes the PDF; returns its page count."""
    font = _font()
    pdfmetrics.registerFont(TTFont("Hei", font, subfontIndex=0))
    pdfmetrics.registerFont(TTFont("Mono", font, subfontIndex=1))

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Hei", 8.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        if doc.page > 1:
            canvas.drawString(2 * cm, A4[1] - 1.3 * cm, title)
            canvas.line(2 * cm, A4[1] - 1.45 * cm, A4[0] - 2 * cm, A4[1] - 1.45 * cm)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = _Doc(str(out), pagesize=A4, title=title, author="govkiosk", subject="运维手册")
    frame = Frame(2 * cm, 2 * cm, A4[0] - 4 * cm, A4[1] - 4 * cm, id="body")
    doc.addPageTemplates([PageTemplate("page", [frame], onPage=decorate)])
    story = _Story(A4[0] - 4 * cm - 12, screenshots)  # the frame's width less its padding
    for block in blocks:
        story.add(block)
    doc.multiBuild(story.flowables)
    return int(doc.page)


def _cover(text: str) -> List[Any]:
    seconds = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or time.time()
    when = datetime.datetime.fromtimestamp(seconds).strftime("%Y 年 %m 月")
    return [
        Spacer(1, 6 * cm),
        Paragraph(inline(text), _style("cover", fontSize=26, leading=36, alignment=1)),
        Spacer(1, 1 * cm),
        Paragraph("面向大厅工作人员和运维工程师", _style("sub", fontSize=13, alignment=1)),
        Spacer(1, 6 * cm),
        Paragraph(f"软件版本 govkiosk {govkiosk.__version__}", _style("v", alignment=1)),
        Paragraph(when, _style("d", alignment=1)),
        PageBreak(),
    ]


def _figure_path(ref: str, screenshots: Optional[Path]) -> Optional[Path]:
    prefix = "screenshots/"
    if ref.startswith(prefix):
        if screenshots is None:
            return None
        path = screenshots / ref[len(prefix) :]
    else:
        path = HERE / ref
    return path if path.is_file() else None


def _width(text: str) -> int:
    """Columns the text takes: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_widths(rows: List[List[str]], width: float) -> List[float]:
    """Short columns (codes, names) as wide as their longest text, so they never wrap;
    the long ones share what is left by how much text they hold."""
    unit, pad, short = 4.6, 12.0, 34
    n = len(rows[0])
    need = [max(_width(r[c].replace("`", "")) for r in rows) for c in range(n)]
    fixed = {c: need[c] * unit + pad for c in range(n) if need[c] <= short}
    rest = width - sum(fixed.values())
    flexible = [c for c in range(n) if c not in fixed]
    if flexible and rest > 60 * len(flexible):
        total = sum(min(need[c], 120) for c in flexible)
        return [fixed.get(c, rest * min(need[c], 120) / total) for c in range(n)]
    weights = [max(x, 4) for x in need]
    return [width * x / sum(weights) for x in weights]


def _table(rows: List[List[str]], width: float, styles: _Styles) -> Table:
    data = [
        [Paragraph(inline(c), styles.head_cell if r == 0 else styles.cell) for c in row]
        for r, row in enumerate(rows)
    ]
    table = Table(data, colWidths=_column_widths(rows, width), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), BLUE),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f1f4f9")]),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def build(source: Path, out: Path, screenshots: Optional[Path]) -> Tuple[int, List[str]]:
    """The PDF at ``out``; returns (pages, figures that were missing)."""
    blocks = parse(tables.expand(source.read_text(encoding="utf-8")))
    missing = [
        b.items[0]
        for b in blocks
        if b.kind == "figure" and not _figure_path(b.items[0], screenshots)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    title = next((b.text for b in blocks if b.kind == "heading"), "运维手册")
    return render(blocks, out, screenshots, title), missing


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=HERE / "manual.md")
    parser.add_argument("--out", type=Path, default=Path("build/manual/govkiosk-manual.pdf"))
    parser.add_argument("--screenshots", type=Path, help="screenshots/zh_CN from make screenshots")
    parser.add_argument(
        "--markdown", action="store_true", help="print the expanded Markdown instead"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(tables.expand(args.source.read_text(encoding="utf-8")))
        return 0
    pages, missing = build(args.source, args.out, args.screenshots)
    for ref in missing:
        print(f"manual: screenshot missing: {ref}", file=sys.stderr)
    print(f"manual written: {args.out} ({pages} pages)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
