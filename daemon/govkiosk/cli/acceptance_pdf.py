"""The acceptance report as a Chinese PDF: 验收报告 (the kiosk, who checked it and when,
the network, deployment and device checks) and 事项调试检查表 (every published item's
end-to-end test: how it was tested and the test certificate's number), with the fix under
every failure. Drawn by reportlab, as the demo
department's certificates are (:mod:`govkiosk.backends.certificate`)."""

from __future__ import annotations

import io
from typing import Any, Dict, List, Optional

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ..backends.certificate import FontMissingError, cjk_font

STATUS_ZH = {"pass": "通过", "fail": "不通过", "skip": "未检"}
STAGE_ZH = {"network": "网络策略检查", "deployment": "部署调试", "devices": "设备检查"}
#: An item's test mode (``govkioskctl check``'s items stage).
MODE_ZH = {
    "full": "全流程测试（取证、验章、预览）",
    "health": "仅接口健康检查",
    "none": "未测试",
}


def _signed_zh(signed_by: Dict[str, str]) -> str:
    if signed_by.get("alg") == "ed25519":
        return f"本报告由终端密钥 {signed_by['key_id']}（Ed25519）签名，签名见同名 .sig 文件"
    return f"未签名：{signed_by.get('unsigned', '')}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _item_rows(checks: List[Dict[str, str]], cell: ParagraphStyle) -> List[List[Any]]:
    """事项调试检查表: each item, how it was tested, the result, the test certificate's number."""
    heads = ("序号", "事项", "调试方式", "结果", "测试证明编号", "说明 / 处理办法")
    rows: List[List[Any]] = [[Paragraph(t, cell) for t in heads]]
    for n, c in enumerate(checks, start=1):
        text = _esc(c["detail"]) + (f"<br/>处理：{_esc(c['fix'])}" if c["fix"] else "")
        mode = c.get("mode", "")
        rows.append(
            [
                Paragraph(str(n), cell),
                Paragraph(_esc(c["name"]), cell),
                Paragraph(MODE_ZH.get(mode, _esc(mode) or "—"), cell),
                Paragraph(STATUS_ZH.get(c["status"], c["status"]), cell),
                Paragraph(_esc(c.get("reference", "")) or "—", cell),
                Paragraph(text, cell),
            ]
        )
    return rows


def render(report: Dict[str, Any]) -> Optional[bytes]:
    """The report as PDF bytes; None without a Chinese font."""
    try:
        font = cjk_font()
    except FontMissingError:
        return None
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=11, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=18, spaceBefore=6)

    esc = _esc

    def grid(rows: List[List[Any]], widths: List[float], status_column: int = 2) -> Table:
        table = Table(rows, colWidths=widths, repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        for i, row in enumerate(rows[1:], start=1):
            status = row[status_column] if len(row) > status_column else None
            if getattr(status, "text", "") == STATUS_ZH["fail"]:
                style.append(("BACKGROUND", (0, i), (-1, i), colors.Color(1.0, 0.88, 0.88)))
        table.setStyle(TableStyle(style))
        return table

    def rows_of(checks: List[Dict[str, str]], first: str) -> List[List[Any]]:
        rows: List[List[Any]] = [
            [Paragraph(t, cell) for t in (first, "检查项", "结果", "说明 / 处理办法")]
        ]
        for n, c in enumerate(checks, start=1):
            text = esc(c["detail"]) + (f"<br/>处理：{esc(c['fix'])}" if c["fix"] else "")
            rows.append(
                [
                    Paragraph(str(n), cell),
                    Paragraph(esc(c["name"]), cell),
                    Paragraph(STATUS_ZH.get(c["status"], c["status"]), cell),
                    Paragraph(text, cell),
                ]
            )
        return rows

    facts = [
        ("终端编号", report["kiosk_id"]),
        ("终端名称", report["kiosk_name"]),
        ("所在大厅", report["hall"]),
        ("软件版本", report["versions"]["daemon"] or report["versions"]["govkioskctl"]),
        ("检查人", report["operator"] or "（未填写）"),
        ("检查时间", report["time"]),
        ("结论", "通过" if report["result"] == "pass" else "不通过"),
        ("报告签名", _signed_zh(report["signed_by"])),
    ]
    widths = [12 * mm, 45 * mm, 16 * mm, 93 * mm]
    story: List[Flowable] = [Paragraph("政务服务一体机验收报告", title), Spacer(1, 6 * mm)]
    story.append(
        grid(
            [[Paragraph("项目", cell), Paragraph("内容", cell)]]
            + [[Paragraph(k, cell), Paragraph(esc(v), cell)] for k, v in facts],
            [40 * mm, 126 * mm],
        )
    )
    story.append(Spacer(1, 4 * mm))
    for stage in report["stages"]:
        if stage["stage"] == "items":
            continue
        mine = [c for c in report["checks"] if c["stage"] == stage["stage"]]
        name = STAGE_ZH.get(stage["stage"], stage["stage"])
        status = STATUS_ZH[stage["status"]]
        story.append(Paragraph(f"{name}（{status}）", heading))
        story.append(grid(rows_of(mine, "序号"), widths))
    items = [c for c in report["checks"] if c["stage"] == "items"]
    if items:
        story += [PageBreak(), Paragraph("事项调试检查表", title), Spacer(1, 4 * mm)]
        who = esc(report["operator"] or "（未填写）")
        lead = f"终端 {esc(report['kiosk_id'])}，检查人 {who}，{esc(report['time'])}。"
        printed = any("test certificate printed" in c["detail"] for c in items)
        lead += (
            "下表为每一已发布事项以部门公布的测试身份、按测试模式对真实部门接口的全流程调试结果"
            "（无测试身份的事项仅作接口健康检查）；测试证明均标注“测试样张”，"
            + ("已按要求打印测试证明。" if printed else "调试中未打印任何材料。")
        )
        story.append(Paragraph(lead, body))
        story.append(Spacer(1, 3 * mm))
        item_widths = [10 * mm, 45 * mm, 20 * mm, 11 * mm, 32 * mm, 48 * mm]
        story.append(grid(_item_rows(items, cell), item_widths, status_column=3))
    story += [
        Spacer(1, 10 * mm),
        Paragraph(
            "实施工程师签字：＿＿＿＿＿＿　　大厅负责人签字：＿＿＿＿＿＿　　日期：＿＿＿＿", body
        ),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title="政务服务一体机验收报告",
        author=report["kiosk_id"],
        creator="govkioskctl check",
    )
    doc.build(story)
    return out.getvalue()
