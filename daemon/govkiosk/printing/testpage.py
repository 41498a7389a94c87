"""The A4 printer's maintenance test page (测试页), a one-page PDF written by hand.

What an engineer needs to judge the printer, and nothing of a citizen: the title, the
kiosk id, the CUPS queue and the time; a grey scale of eleven steps (0 % … 100 % black)
to see banding and a faint toner; a frame 10 mm inside the sheet, corner marks 5 mm
inside it and a centre cross, to see the page's position, skew and scaling.

Text uses the PDF's predefined Chinese font ``STSong-Light`` with the ``UniGB-UCS2-H``
CMap (ISO 32000-1 §9.7.5.2; ASCII half width, CIDs 1–95): no font is embedded, the
printer driver or poppler substitutes one, and the text is extractable as Unicode.
"""

from __future__ import annotations

import datetime
from typing import List

from ..pdfbytes import assemble

#: A4 in points.
WIDTH, HEIGHT = 595.276, 841.89
MM = 72 / 25.4
TITLE = "测试页 Test page"
STEPS = 11


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _text(value: str) -> str:
    """A string for ``Tj`` in the UCS-2 CMap: hex UTF-16BE, characters beyond the BMP as ?."""
    shown = "".join(c if ord(c) <= 0xFFFF and c.isprintable() else "?" for c in value)
    return "<" + shown.encode("utf-16-be").hex().upper() + ">"


def _line(x: float, y: float, size: float, value: str) -> str:
    return f"BT /F1 {_n(size)} Tf {_n(x)} {_n(y)} Td {_text(value)} Tj ET\n"


def content(kiosk_id: str, queue: str, now: datetime.datetime) -> bytes:
    """The page's content stream."""
    ops: List[str] = ["0 G 0 g 0.5 w\n"]
    margin = 10 * MM
    # the frame
    ops.append(
        f"{_n(margin)} {_n(margin)} {_n(WIDTH - 2 * margin)} {_n(HEIGHT - 2 * margin)} re S\n"
    )
    # corner marks, 5 mm inside the frame, 10 mm long
    inset, arm = margin + 5 * MM, 10 * MM
    for x, dx in ((inset, arm), (WIDTH - inset, -arm)):
        for y, dy in ((inset, arm), (HEIGHT - inset, -arm)):
            ops.append(f"{_n(x)} {_n(y + dy)} m {_n(x)} {_n(y)} l {_n(x + dx)} {_n(y)} l S\n")
    # the centre cross
    cx, cy, half = WIDTH / 2, HEIGHT / 2, 15 * MM
    ops.append(
        f"{_n(cx - half)} {_n(cy)} m {_n(cx + half)} {_n(cy)} l S "
        f"{_n(cx)} {_n(cy - half)} m {_n(cx)} {_n(cy + half)} l S\n"
    )
    # the grey scale, white to black, each step outlined
    step_w, step_h = 14 * MM, 14 * MM
    left, bottom = (WIDTH - STEPS * step_w) / 2, 60 * MM
    for i in range(STEPS):
        grey = 1 - i / (STEPS - 1)
        x = left + i * step_w
        ops.append(f"{_n(grey)} g {_n(x)} {_n(bottom)} {_n(step_w)} {_n(step_h)} re B\n")
    ops.append("0 g\n")
    for i in range(0, STEPS, 2):
        ops.append(_line(left + i * step_w + 2 * MM, bottom - 6 * MM, 8, f"{i * 10}%"))
    top = HEIGHT - 40 * MM
    ops.append(_line(30 * MM, top, 28, TITLE))
    stamp = now.isoformat(timespec="seconds")
    rows = (
        f"一体机 Kiosk: {kiosk_id}",
        f"打印队列 Queue: {queue}",
        f"时间 Time: {stamp}",
        "灰度 Grey scale 0% … 100%；对位标记 Alignment marks: 10 mm frame, corners, centre",
        "本页不含任何个人信息 This page holds no personal data",
    )
    for number, row in enumerate(rows):
        ops.append(_line(30 * MM, top - (14 + 8 * number) * MM, 11, row))
    return "".join(ops).encode("ascii")


def test_page(kiosk_id: str, queue: str, now: datetime.datetime) -> bytes:
    """The whole PDF."""
    stream = content(kiosk_id, queue, now)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_n(WIDTH)} {_n(HEIGHT)}]"
            " /Resources << /Font << /F1 4 0 R >> /ProcSet [/PDF /Text] >> /Contents 6 0 R >>"
        ).encode("ascii"),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H"
        b" /DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
        b" /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6"
        b" /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
        b" /CapHeight 880 /StemV 93 >>",
    ]
    return bytes(assemble(objects))
