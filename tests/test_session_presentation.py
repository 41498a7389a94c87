"""What the citizen's screens learn from the daemon, over D-Bus against the whole kiosk
(harness.kiosk): item rows in both languages with the consent notice, the session's trust
facts (reference, seal, receipt), how it ended, the staff code of a failure, and the
kiosk's hall and card reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import cv2
import numpy as np
import pytest

from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, KIOSK_INTERFACE, OBJECT_PATH
from govkiosk.devices.presence.events import PersonLeft
from govkiosk_ui.model import Item, KioskInfo, Session
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk

#: No face step, a receipt: the quickest whole journey with every fact in it.
ITEM = "household_register_print"
#: The demo authority's seal for the police (backends/demo_authority.py).
POLICE_SEAL = "公安机关电子印章"


def unpack(row: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v.value for k, v in row.items()}


async def to_preview(k: Kiosk, item: str = ITEM) -> str:
    sid: str = await k.session.call_start_session(item, "zh_CN")
    await k.until(step="identity", state="waiting")
    await k.card()
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    await k.session.call_choose(sid, "agree")
    await k.until(step="preview", state="waiting")
    return sid


def drained(k: Kiosk) -> List[Dict[str, Any]]:
    states = []
    while not k.changes.empty():
        states.append(k.changes.get_nowait())
    return states


async def test_item_rows_carry_both_languages_and_the_consent_notice_and_getinfo_the_hall(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    image = tmp_path / "reader.png"
    ok, png = cv2.imencode(".png", np.full((40, 60, 3), 200, np.uint8))
    assert ok
    image.write_bytes(png.tobytes())
    lines = f'hall = "哈尔滨市政务服务中心"\ncard_reader = "right"\ncard_reader_image = "{image}"'
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd, kiosk_lines=lines) as k:
        rows = [unpack(r) for r in await k.session.call_list_items()]
        assert len(rows) == 7
        for row in rows:
            assert row["summary"]
            assert row["summary_en"]
            assert row["name_en"]
            assert row["icon"] in ("police", "household", "social_security", "pension")
            assert row["consent_data"]
            assert row["consent_data_en"]
            assert row["consent_source"]
            assert row["consent_purpose"]
            assert row["consent_retention"] == "none"
        record = next(r for r in rows if r["code"] == "no_criminal_record")
        assert record["name_en"] == "No-criminal-record certificate"
        assert record["summary"] == "开具本人无犯罪记录的证明"
        assert record["consent_data"] == ["本人身份信息", "违法犯罪记录"]
        assert record["consent_source"] == "公安机关"
        assert record["consent_source_en"] == "The public security authorities"
        assert record["icon"] == "police"
        assert unpack(await k.session.call_get_item("no_criminal_record")) == record
        assert Item.from_dbus(record).text("en").name == "No-criminal-record certificate"

        client = await connect(private_bus.address)
        try:
            introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
            proxy = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
            face = proxy.get_interface(KIOSK_INTERFACE)
            info = KioskInfo.from_dbus(unpack(await face.call_get_info()))  # type: ignore[attr-defined]
            picture = bytes(await face.call_get_card_reader_image())  # type: ignore[attr-defined]
        finally:
            await close(client)
        assert (info.hall, info.card_reader) == ("哈尔滨市政务服务中心", "right")
        assert info.card_reader_hint("zh_CN") == "身份证读卡区在屏幕右侧"
        assert info.card_reader_hint("en") == "The ID card reader is to the right of the screen"
        assert info.has_card_reader_image
        assert picture == image.read_bytes()


async def test_a_journey_tells_reference_seal_receipt_and_how_it_ended(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        sid: str = await k.session.call_start_session(ITEM, "zh_CN")
        first = await k.until(step="identity", state="waiting")
        assert (first["seal_verified"], first["seal_issuer"], first["reference"]) == (
            False,
            "",
            "",
        )
        assert (first["receipt_printed"], first["ended_by"], first["staff_code"]) == (
            False,
            "",
            "",
        )
        await k.session.call_cancel(sid)
        await k.ended()

        sid = await to_preview(k)
        preview = await k.state()
        assert preview["seal_verified"] is True
        assert preview["seal_issuer"] == POLICE_SEAL
        assert preview["reference"]
        assert not preview["receipt_printed"]
        assert preview["ended_by"] == ""
        await k.session.call_choose(sid, "print")
        done = await k.until(step="done", state="done")
        assert done["receipt_printed"] is True
        assert len(k.printer.receipts) == 1
        assert any(preview["reference"] in line for line in k.printer.receipts[0].lines)
        drained(k)
        await k.session.call_choose(sid, "finish")
        last = Session.from_dbus(await k.ended())
        assert (last.state, last.ended_by, last.staff_code) == ("done", "done", "")
        assert last.reference == preview["reference"]
        assert last.seal_verified
        assert last.seal_issuer == POLICE_SEAL
        assert last.receipt_printed
        assert last.revision > done["revision"]


async def test_a_failure_shows_a_staff_code_not_the_ops_code(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        cupsd.fail()
        sid = await to_preview(k, "id_card_print")
        await k.session.call_choose(sid, "print")
        failed = await k.until(state="failed")
        assert (failed["error_code"], failed["staff_code"]) == ("printer.paper_out", "P01")
        assert "P01" not in failed["message"]
        assert "printer" not in failed["message"]
        await k.session.call_cancel(sid)
        last = await k.ended()
        assert (last["state"], last["ended_by"], last["staff_code"]) == (
            "cancelled",
            "cancelled",
            "",
        )


@pytest.mark.parametrize(
    ("how", "session_lines", "state"),
    [
        ("timeout", "identity_timeout = 0.5", "expired"),
        ("walked_away", "walkaway_timeout = 0.05", "expired"),
        ("home", "", "cancelled"),
        ("declined", "", "cancelled"),
    ],
)
async def test_the_final_state_says_how_the_session_ended(
    tmp_path: Path,
    private_bus: PrivateBus,
    cupsd: CupsServer,
    *,
    how: str,
    session_lines: str,
    state: str,
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, session_lines) as k:
        sid: str = await k.session.call_start_session(ITEM, "zh_CN")
        waiting = await k.until(step="identity", state="waiting")
        if how == "walked_away":
            k.daemon.bus.publish(PersonLeft("presence@test"))
        elif how == "home":
            await k.session.call_end_session(sid, "home")
        elif how == "declined":
            await k.card()
            await k.until(step="identity", choices=["confirm", "cancel"])
            await k.session.call_choose(sid, "confirm")
            await k.until(step="consent", state="waiting")
            await k.session.call_choose(sid, "disagree")
        last = await k.ended()
        expected = "cancelled" if how == "declined" else how
        assert (last["state"], last["ended_by"]) == (state, expected)
        assert last["holder"] == ""
        assert last["revision"] > waiting["revision"]
        assert Session.from_dbus(last).finished
