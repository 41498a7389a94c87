"""The test receipt printed from the maintenance screen or by ops (``PrintTest``).

It shows what an installer checks by eye (§6.4.2 b): Chinese text and punctuation in
Chinese mode, bold and double size, alignment, the paper width as a ruler, a QR code,
and the cut.
"""

from __future__ import annotations

from datetime import datetime

from .escpos import Align, Cut, Feed, Line, QrCode, Receipt, Style


def test_receipt(kiosk_id: str, device: str, now: datetime, width_chars: int) -> Receipt:
    centre = Style(align=Align.CENTER)
    ruler = "".join(str(i % 10) for i in range(1, width_chars + 1))
    return Receipt(
        (
            Line("打印测试", Style(Align.CENTER, bold=True, width=2, height=2)),
            Line("PRINTER TEST", centre),
            Line("-" * width_chars),
            Line(f"终端编号：{kiosk_id}"),
            Line(f"打印机：{device}"),
            Line(f"时间：{now:%Y-%m-%d %H:%M:%S}"),
            Line("中文、标点。：；“”（）《》"),
            Line("加粗 Bold", Style(bold=True)),
            Line("右对齐 right", Style(align=Align.RIGHT)),
            Line(ruler),
            QrCode(f"govkiosk:printtest:{kiosk_id}"),
            Line("扫码核对 scan to check", centre),
            Feed(2),
            Cut(partial=True, feed_lines=0),
        )
    )
