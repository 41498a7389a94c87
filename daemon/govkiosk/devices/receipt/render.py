"""Drawing a printed receipt as the paper would look, one pixel per printer dot.

For people, not for tests' asserts: the simulator saves one PNG per receipt so a
developer, the UI team or a reviewer sees what a template prints. 80 mm paper at
203 dpi is 576 dots: 48 characters of 12 × 24 dots (Font A), CJK characters twice as
wide. QR symbols are drawn with segno from the payload the printer stored, at the
module size it was told.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import segno
from PIL import Image, ImageDraw, ImageFont

from .escpos import Align
from .printout import PrintedLine, PrintedQr, PrintedReceipt

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
MONO_FACE = 1  #: "WenQuanYi Zen Hei Mono" in the collection: ASCII half width, as on the printer
DOT_HEIGHT = 24  #: one text line at normal size
MARGIN = 16


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if CJK_FONT.exists():
        return ImageFont.truetype(str(CJK_FONT), size, index=MONO_FACE)
    return ImageFont.load_default()


def _line_image(line: PrintedLine, width: int) -> Image.Image:
    style = line.style
    height = DOT_HEIGHT * style.height + 6
    font = _font(DOT_HEIGHT * style.height)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    text_width = int(probe.textlength(line.text, font=font)) + 2 if line.text else 1
    text = Image.new("L", (text_width, height), 255)
    ImageDraw.Draw(text).text(
        (0, 2), line.text, font=font, fill=0, stroke_width=1 if style.bold else 0, stroke_fill=0
    )
    if style.width != style.height:  # GS ! scales width and height separately
        scaled = max(1, text_width * style.width // style.height)
        text = text.resize((scaled, height))
    row = Image.new("L", (width, height), 255)
    row.paste(text, (_x(style.align, text.width, width), 0))
    return row


def _qr_image(qr: PrintedQr, width: int) -> Image.Image:
    symbol = segno.make_qr(
        qr.data, error=qr.error_correction.lower() if qr.error_correction in "LMQH" else "m"
    )
    modules = [list(r) for r in symbol.matrix_iter(scale=max(1, qr.module_size), border=0)]
    size = len(modules)
    image = Image.new("L", (size, size), 255)
    image.putdata([0 if dot else 255 for r in modules for dot in r])
    row = Image.new("L", (width, size + 12), 255)
    row.paste(image, (_x(qr.align, size, width), 6))
    return row


def _x(align: Align, item_width: int, width: int) -> int:
    if align is Align.CENTER:
        return max(0, (width - item_width) // 2)
    if align is Align.RIGHT:
        return max(0, width - item_width)
    return 0


def render_png(receipt: PrintedReceipt, path: Path, width_chars: int = 48) -> None:
    width = width_chars * 12
    rows: List[Image.Image] = [
        _qr_image(b, width) if isinstance(b, PrintedQr) else _line_image(b, width)
        for b in receipt.blocks
    ]
    height = sum(r.height for r in rows) + 2 * MARGIN
    page = Image.new("L", (width + 2 * MARGIN, height + 12), 255)
    y = MARGIN
    for row in rows:
        page.paste(row, (MARGIN, y))
        y += row.height
    draw = ImageDraw.Draw(page)
    dash = "- " if receipt.cut == "partial" else "—"
    draw.text((MARGIN, y + MARGIN - 8), dash * (width // 12), font=_font(12), fill=128)
    page.save(path)
