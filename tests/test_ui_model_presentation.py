"""The UI's reading of the daemon's rows (model.py, no Kivy): items in both languages with
fallback, the session's trust facts, the kiosk's hall and card reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from govkiosk.api.session import item_row
from govkiosk.contract.names import CARD_READER_POSITIONS, ITEM_ICONS
from govkiosk.items.catalogue import ICONS, default_catalogue, load_catalogue
from govkiosk.kiosk import CARD_READERS
from govkiosk.session.state import ENDED_BY
from govkiosk_ui.model import Item, KioskInfo, Session

REPO = Path(__file__).resolve().parents[1]


def unpacked(item: Any) -> Dict[str, Any]:
    return {k: v.value for k, v in item_row(item, (True, "")).items()}


def test_the_daemon_and_the_ui_share_the_fixed_sets() -> None:
    assert ICONS == ITEM_ICONS
    assert tuple(CARD_READERS) == CARD_READER_POSITIONS
    from govkiosk.contract.names import ENDED_BY as SHARED  # noqa: PLC0415

    assert set(ENDED_BY.values()) | {"stopped"} == set(SHARED)


def test_every_item_reads_the_same_in_the_ui_as_in_the_daemon() -> None:
    demo = load_catalogue(REPO / "config" / "demo-items.toml")
    for entry in (*default_catalogue().items, *demo.items):
        shown = Item.from_dbus(unpacked(entry))
        for language in ("zh_CN", "en"):
            daemon, ui = entry.text(language), shown.text(language)
            assert ui == shown.shown(language)
            assert (ui.name, ui.department, ui.category, ui.summary) == (
                daemon.name,
                daemon.department,
                daemon.category,
                daemon.summary,
            )
            assert (ui.conditions, ui.materials) == (daemon.conditions, daemon.materials)
            assert ui.captures == tuple(m.title(language) for m in entry.captures)
            notice = entry.consent_text(language)
            assert notice is not None
            told = shown.notice(language)
            assert (told.item, told.data, told.source, told.purpose) == (
                daemon.name,
                notice.data,
                notice.source,
                notice.purpose,
            )
        assert shown.icon == entry.shown_icon


def test_english_mode_shows_english_names() -> None:
    record = default_catalogue().get("no_criminal_record")
    assert record is not None
    text = Item.from_dbus(unpacked(record)).text("en")
    assert text.name == "No-criminal-record certificate"
    assert text.summary == "A certificate saying whether you have a criminal record"
    notice = Item.from_dbus(unpacked(record)).notice("en")
    assert notice.data == ("Your identity details", "Your criminal records")
    zh = Item.from_dbus(unpacked(record)).text("zh_CN")
    assert (zh.name, zh.summary) == ("无犯罪记录证明", "开具本人无犯罪记录的证明")
    assert Item.from_dbus(unpacked(record)).notice("zh_CN").source == "公安机关"


def test_untranslated_fields_fall_back_to_chinese_field_by_field() -> None:
    row = {
        "code": "x",
        "name": "测试事项",
        "department": "公安",
        "summary": "一行说明",
        "conditions": ["条件"],
        "captures": ["证明甲", "证明乙"],
        "captures_en": ["Proof A", ""],
        "consent_data": ["数据"],
        "consent_source": "公安机关",
        "consent_purpose": "目的",
        "name_en": "Test item",
        "consent_source_en": "The police",
    }
    item = Item.from_dbus(row)
    en = item.text("en")
    assert (en.name, en.department, en.summary) == ("Test item", "公安", "一行说明")
    assert en.conditions == ("条件",)
    assert en.captures == ("Proof A", "证明乙")
    notice = item.notice("en")
    assert (notice.data, notice.source, notice.purpose) == (("数据",), "The police", "目的")
    # An older daemon's row: no presentation keys at all.
    old = Item.from_dbus({"code": "y", "name": "旧事项"})
    assert old.text("en").name == "旧事项"
    assert (old.summary, old.icon, old.consent_data) == ("", "generic", ())


def test_session_trust_facts_and_staff_code() -> None:
    final = Session.from_dbus(
        {
            "session_id": "s",
            "state": "expired",
            "ended_by": "walked_away",
            "reference": "WFZ-2026-000123",
            "receipt_printed": True,
            "seal_verified": True,
            "seal_issuer": "黑龙江省公安厅电子印章",
            "error_code": "printer.paper_out",
            "staff_code": "P01",
        }
    )
    assert final.finished
    assert (final.ended_by, final.reference) == ("walked_away", "WFZ-2026-000123")
    assert final.receipt_printed
    assert final.seal_verified
    assert (final.seal_issuer, final.staff_code) == ("黑龙江省公安厅电子印章", "P01")
    plain = Session.from_dbus({"session_id": "s"})
    assert (plain.ended_by, plain.staff_code, plain.seal_verified) == ("", "", False)


def test_kiosk_info_hall_and_card_reader_with_fallback() -> None:
    info = KioskInfo.from_dbus(
        {
            "kiosk_id": "hlj-0001",
            "name": "1号机",
            "hall": "哈尔滨市政务服务中心",
            "card_reader": "right",
            "card_reader_text": "身份证读卡区在屏幕右侧",
            "card_reader_text_en": "The ID card reader is to the right of the screen",
            "has_card_reader_image": True,
        }
    )
    assert info.hall_text("en") == "哈尔滨市政务服务中心"  # no English name: the Chinese
    assert info.card_reader_hint("en") == "The ID card reader is to the right of the screen"
    assert info.card_reader_hint("zh_CN") == "身份证读卡区在屏幕右侧"
    assert info.has_card_reader_image
    assert KioskInfo.from_dbus({"card_reader": "on_the_roof"}).card_reader == "below_screen"
