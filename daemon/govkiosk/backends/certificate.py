"""Drawing a certificate PDF the way departments issue them (demo service only).

A :class:`Certificate` is what a department states; :func:`render` lays it out on A4
like a real certificate: the title, the certificate number, the body (paragraphs, a
table of labelled facts, a table over years), the issuing authority and date at the
bottom right under a red round seal (:func:`draw_seal`: double ring, five-pointed star,
the authority's name along the upper arc, the seal's purpose below the star), and a
verification line at the foot of every page. reportlab needs a font with Chinese
glyphs (:func:`cjk_font`).
"""

from __future__ import annotations

import io
import math
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Sequence, Tuple

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..errors import GovkioskError

FONT = "GovkioskCJK"
SEAL_RED = colors.Color(0.84, 0.06, 0.09)
#: Debian/UOS (fonts-wqy-zenhei, -microhei), Kylin/RPM layouts, Noto SC.
FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


class FontMissingError(GovkioskError):
    """No TrueType font with Chinese glyphs is installed."""


@dataclass(frozen=True)
class Certificate:
    """What the department states; ``rows``/``table`` are optional blocks of the body."""

    title: str
    authority: str
    number: str
    issued: str
    paragraphs: Sequence[str] = ()
    rows: Sequence[Tuple[str, str]] = ()
    table: Sequence[Sequence[str]] = ()
    closing: Sequence[str] = ()
    verification: str = ""
    seal_caption: str = "证明专用章"
    notes: Sequence[str] = ()
    #: Titled groups of facts (a licence's pages: 户主页, 常住人口登记卡), after ``rows``;
    #: the OFD writer starts each on a page of its own.
    sections: Sequence[Tuple[str, Sequence[Tuple[str, str]]]] = ()
    #: A test answer's specimen: this mark (e.g. 测试样张) across every page; "" = none.
    specimen: str = ""


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register a Chinese TrueType font with reportlab once; its registered name."""
    pdfmetrics.registerFont(TTFont(FONT, cjk_font_file(), subfontIndex=0))
    return FONT


@lru_cache(maxsize=1)
def cjk_font_file() -> str:
    """A TrueType font file with Chinese glyphs.

    ``$GOVKIOSK_CERT_FONT`` first, then well-known files, then fontconfig's answer for
    Chinese. reportlab reads TrueType outlines only (``.ttf``/``.ttc``), not CFF ``.otf``.
    """
    candidates = [os.environ.get("GOVKIOSK_CERT_FONT", ""), *FONT_FILES, *_fontconfig_zh()]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and candidate.endswith((".ttf", ".ttc")):
            return candidate
    raise FontMissingError(
        "no TrueType font with Chinese glyphs: install fonts-wqy-zenhei or set GOVKIOSK_CERT_FONT"
    )


def _fontconfig_zh() -> List[str]:
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted(line.split(":")[0].strip() for line in listed.splitlines() if ":" in line)


def render(cert: Certificate) -> Tuple[bytes, int]:
    """The certificate as PDF bytes and its page count."""
    font = cjk_font()
    styles = _styles(font)
    out = io.BytesIO()
    pages: List[int] = []

    def footer(canvas: Any, doc: Any) -> None:
        pages.append(doc.page)
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(20 * mm, 12 * mm, cert.verification)
        canvas.drawRightString(190 * mm, 12 * mm, f"第 {doc.page} 页")
        canvas.setStrokeColor(colors.Color(0.6, 0.1, 0.1))
        canvas.setLineWidth(1.2)
        canvas.line(20 * mm, 272 * mm, 190 * mm, 272 * mm)
        if cert.specimen:
            _watermark(canvas, font, cert.specimen)
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=30 * mm,
        bottomMargin=22 * mm,
        title=cert.title,
        author=cert.authority,
        subject=cert.title,
        creator="govkiosk demo department service",
    )
    story: List[Flowable] = [
        Paragraph(cert.title, styles["title"]),
        Paragraph(f"编号：{cert.number}", styles["number"]),
        Spacer(1, 6 * mm),
    ]
    story += [Paragraph(text, styles["body"]) for text in cert.paragraphs]
    if cert.rows:
        story += [_facts(cert.rows, font), Spacer(1, 5 * mm)]
    for heading, rows in cert.sections:
        story += [Paragraph(heading, styles["heading"]), _facts(rows, font), Spacer(1, 5 * mm)]
    if cert.table:
        story += [_years(cert.table, font), Spacer(1, 5 * mm)]
    story += [Paragraph(text, styles["body"]) for text in cert.closing]
    story.append(_Signature(cert.authority, cert.issued, cert.seal_caption, font))
    story += [Paragraph(text, styles["note"]) for text in cert.notes]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue(), len(pages)


def _watermark(canvas: Any, font: str, text: str) -> None:
    """``text`` large and diagonal across the page, in light red: a specimen, not a document."""
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.9, 0.2, 0.2, alpha=0.25))
    canvas.setFont(font, 72)
    canvas.translate(105 * mm, 148 * mm)
    canvas.rotate(35)
    canvas.drawCentredString(0, 0, text)
    canvas.restoreState()


def _styles(font: str) -> dict:  # type: ignore[type-arg]
    return {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=24, leading=32, alignment=TA_CENTER, spaceAfter=4
        ),
        "number": ParagraphStyle("number", fontName=font, fontSize=10.5, alignment=TA_RIGHT),
        "heading": ParagraphStyle(
            "heading", fontName=font, fontSize=15, leading=22, alignment=TA_CENTER, spaceAfter=4
        ),
        "body": ParagraphStyle(
            "body",
            fontName=font,
            fontSize=13,
            leading=24,
            firstLineIndent=26,
            wordWrap="CJK",
            spaceAfter=6,
        ),
        "note": ParagraphStyle(
            "note", fontName=font, fontSize=9, leading=14, wordWrap="CJK", textColor=colors.grey
        ),
    }


def _grid(font: str, size: float) -> List[Tuple[Any, ...]]:
    return [
        ("FONT", (0, 0), (-1, -1), font, size),
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]


def _facts(rows: Sequence[Tuple[str, str]], font: str) -> Table:
    style = ParagraphStyle("cell", fontName=font, fontSize=11, leading=15, wordWrap="CJK")
    data = [[label, Paragraph(value, style)] for label, value in rows]
    table = Table(data, colWidths=[38 * mm, 128 * mm])
    table.setStyle(
        TableStyle(
            [*_grid(font, 11), ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.95, 0.95, 0.95))]
        )
    )
    return table


def _years(rows: Sequence[Sequence[str]], font: str) -> Table:
    table = Table([list(r) for r in rows], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                *_grid(font, 10),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
            ]
        )
    )
    return table


class _Signature(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Authority and date at the right, the round seal stamped across them."""

    HEIGHT = 50 * mm

    def __init__(self, authority: str, issued: str, caption: str, font: str) -> None:
        super().__init__()
        self.authority, self.issued, self.caption, self.font = authority, issued, caption, font

    def wrap(self, avail_width: float, avail_height: float) -> Tuple[float, float]:
        self.width = avail_width
        return avail_width, self.HEIGHT

    def draw(self) -> None:
        canvas = self.canv
        right = self.width - 8 * mm
        canvas.setFont(self.font, 13)
        canvas.drawRightString(right, 24 * mm, self.authority)
        canvas.drawRightString(right, 16 * mm, self.issued)
        centre_x = right - pdfmetrics.stringWidth(self.authority, self.font, 13) / 2
        draw_seal(
            canvas,
            centre_x,
            22 * mm,
            21 * mm,
            name=self.authority,
            caption=self.caption,
            font=self.font,
        )


def draw_seal(
    canvas: Any, x: float, y: float, radius: float, *, name: str, caption: str, font: str
) -> None:
    """A red round official seal centred at (x, y), slightly translucent like ink."""
    canvas.saveState()
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setStrokeAlpha(0.85)
    canvas.setFillAlpha(0.85)
    canvas.setLineWidth(radius * 0.07)
    canvas.circle(x, y, radius, stroke=1, fill=0)
    _star(canvas, x, y, radius * 0.3)
    # The name along the upper arc, from lower left over the top to lower right.
    size = min(radius * 0.27, radius * 4.0 / max(len(name), 1))
    canvas.setFont(font, size)
    span = min(260.0, 24.0 * len(name))
    for i, char in enumerate(name):
        angle = 90 + span / 2 - (span * i / (len(name) - 1) if len(name) > 1 else span / 2)
        rad = math.radians(angle)
        canvas.saveState()
        canvas.translate(x + radius * 0.7 * math.cos(rad), y + radius * 0.7 * math.sin(rad))
        canvas.rotate(angle - 90)
        canvas.drawCentredString(0, -size * 0.35, char)
        canvas.restoreState()
    canvas.setFont(font, radius * 0.17)
    canvas.drawCentredString(x, y - radius * 0.55, caption)
    canvas.restoreState()


def _star(canvas: Any, x: float, y: float, outer: float) -> None:
    inner = outer * 0.382
    path = canvas.beginPath()
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        angle = math.radians(90 + 36 * i)
        point = (x + r * math.cos(angle), y + r * math.sin(angle))
        if i == 0:
            path.moveTo(*point)
        else:
            path.lineTo(*point)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)
