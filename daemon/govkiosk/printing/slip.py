"""The receipt slip printed after a transaction (§7.2 b), in the item's template.

A slip proves the transaction to its holder and to anyone they show it to, so it says
what was done, when, where, and carries a QR code to verify the document — and nothing
more: the ID number masked, no name, and the QR code holds only the verification
reference (a URL built from it), never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict

from ..devices.receipt.escpos import Align, Cut, Feed, Line, QrCode, Receipt, Style


@dataclass(frozen=True)
class SlipTemplate:
    """What differs between items: the slip's title and a closing note."""

    title: str = "政务服务办理回执"
    note: str = "请妥善保管本回执，扫码可核验证明真伪。"


DEFAULT = SlipTemplate()

#: The catalogue's ``printing.receipt_template`` → its template; unknown names: DEFAULT.
TEMPLATES: Dict[str, SlipTemplate] = {
    "transaction": DEFAULT,
    "certificate": SlipTemplate("证明打印回执", "纸质证明与电子证明具有同等效力，扫码可核验真伪。"),
    "elicence": SlipTemplate("电子证照打印回执", "打印件仅供本人办事使用，扫码可核验真伪。"),
}


@dataclass(frozen=True)
class SlipFacts:
    """Everything a slip shows; ``masked_id`` must already be masked."""

    template: str
    item_name: str
    department: str
    when: datetime
    kiosk_id: str
    kiosk_name: str
    masked_id: str
    reference: str
    verify_url: str


def slip(facts: SlipFacts, width_chars: int = 48) -> Receipt:
    template = TEMPLATES.get(facts.template, DEFAULT)
    centre = Style(align=Align.CENTER)
    rule = Line("-" * width_chars)
    return Receipt(
        (
            Line(template.title, Style(Align.CENTER, bold=True, width=2, height=2)),
            Line("SERVICE RECEIPT", centre),
            rule,
            Line(f"事项：{facts.item_name}"),
            Line(f"部门：{facts.department}"),
            Line(f"时间：{facts.when:%Y-%m-%d %H:%M:%S}"),
            Line(f"终端：{facts.kiosk_name}"),
            Line(f"终端编号：{facts.kiosk_id}"),
            Line(f"证件号码：{facts.masked_id}"),
            Line(f"业务编号：{facts.reference}"),
            rule,
            QrCode(facts.verify_url),
            Line("扫码核验 scan to verify", centre),
            Line(template.note),
            Feed(3),
            Cut(partial=True),
        )
    )
