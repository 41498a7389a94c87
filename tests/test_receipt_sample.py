"""A realistic receipt through driver and simulator, saved as text and PNG for people to see.

``pytest tests/test_receipt_sample.py --basetemp=/tmp/receipt-sample`` leaves the picture
at ``/tmp/receipt-sample/test_sample_receipt0/receipts/001.png``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

from PIL import Image

from govkiosk.bus import EventBus
from govkiosk.devices.receipt.driver import ReceiptPrinter
from govkiosk.devices.receipt.escpos import Align, Cut, Feed, Line, QrCode, Receipt, Style
from govkiosk.devices.receipt.events import JobOutcome
from govkiosk.devices.receipt.printout import PrintedReceipt
from govkiosk.devices.receipt.settings import ReceiptSettings
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter, save_receipt
from govkiosk.devices.simhost import serve_tcp, socket_url
from govkiosk.devices.spec import DeviceSpec

WIDTH = 48
CENTRE = Style(Align.CENTER)
SAMPLE = Receipt(
    (
        Line("政务服务一体机", Style(Align.CENTER, bold=True, width=2, height=2)),
        Line("业务办理凭条", CENTRE),
        Line("-" * WIDTH),
        Line("事项：无犯罪记录证明", Style(bold=True)),
        Line("部门：公安局"),
        Line("证件号码：2301**********1234"),
        Line("办理结果：已出具，请取走证明文件"),
        Line("办理时间：2026-11-27 10:15:32"),
        Line("终端编号：hl-hrb-0042"),
        Line("流水号：GK20261127101532-0042"),
        Line("-" * WIDTH),
        QrCode("https://zwfw.example.gov.cn/verify?no=GK20261127101532-0042", module_size=6),
        Line("扫码核验证明真伪", CENTRE),
        Line("请妥善保管本凭条。", CENTRE),
        Feed(2),
        Cut(partial=True),
    )
)


async def test_sample_receipt(tmp_path: Path) -> None:
    saved: List[Path] = []

    def keep(receipt: PrintedReceipt) -> None:
        saved.append(save_receipt(receipt, tmp_path / "receipts", len(saved) + 1))

    printer = SimPrinter(on_receipt=keep)
    server = await serve_tcp(lambda: SimConnection(printer))
    bus = EventBus()
    driver = ReceiptPrinter(
        DeviceSpec("receipt_printer@sample", "receipt_printer", socket_url(server)),
        bus,
        lambda: ReceiptSettings(poll_interval=0.05),
    )
    await driver.start()
    serving = asyncio.ensure_future(driver.serve())
    try:
        result = await asyncio.wait_for(driver.print(SAMPLE, "sample-1"), 10)
    finally:
        serving.cancel()
        await asyncio.wait([serving])
        await driver.stop()
        server.close()
        await server.wait_closed()

    assert result.outcome is JobOutcome.PRINTED
    assert len(saved) == 1
    transcript = (tmp_path / "receipts" / "001.txt").read_text(encoding="utf-8")
    assert "|Bx22政务服务一体机" in transcript
    assert "<B   事项：无犯罪记录证明" in transcript
    assert "证件号码：2301**********1234" in transcript
    assert "[QR M/6: https://zwfw.example.gov.cn/verify?no=GK20261127101532-0042]" in transcript
    assert transcript.endswith("--- partial cut ---\n")
    with Image.open(saved[0]) as picture:
        width, height = picture.size
        assert width == WIDTH * 12 + 32  # 576 dots of 80 mm paper and the margins
        assert height > 600
        # Ink in the middle third (the centred QR code) as well as in the text rows.
        middle = picture.crop((width // 3, 0, 2 * width // 3, height))
        assert middle.getextrema()[0] == 0
