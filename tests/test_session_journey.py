"""Citizen journeys over ``cn.govkiosk.Session1`` against the whole kiosk (harness.kiosk):
simulated card reader and receipt printer, demo department, real private cupsd."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from dbus_next.errors import DBusError

from govkiosk.bus import Alarm
from govkiosk.config import load_config
from govkiosk.devices.presence.events import PersonLeft
from govkiosk.devices.receipt.events import ReceiptJobFinished
from govkiosk.items.catalogue import default_catalogue
from govkiosk.power.service import ShutdownStageChanged
from govkiosk.printing.a4 import A4Printed
from govkiosk.security.seal import SealVerifier
from govkiosk.session.state import SessionEnded
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk

ITEMS = default_catalogue().codes


#: The demo department issues a pension proof only to someone past retirement age.
BORN_BEFORE = {"pension_benefit_proof": 1960}


async def to_consent_given(k: Kiosk, item: str) -> str:
    """Start ``item``, present a card, confirm, agree: the session id, querying."""
    sid: str = await k.session.call_start_session(item, "zh_CN")
    await k.until(step="identity", state="waiting")
    identity = await k.card(BORN_BEFORE.get(item, 2100))
    state = await k.until(step="identity", choices=["confirm", "cancel"])
    assert identity.name not in state["holder"]
    assert identity.id_number not in state["holder"]
    assert state["holder"].endswith(identity.id_number[:4] + "*" * 10 + identity.id_number[-4:])
    assert await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    await k.session.call_choose(sid, "agree")
    return sid


async def to_preview(k: Kiosk, item: str) -> str:
    """The session id, at the preview of a document whose seal has been verified."""
    sid = await to_consent_given(k, item)
    await k.until(step="preview", state="waiting")
    return sid


def ended(k: Kiosk) -> SessionEnded:
    return [e for e in k.events if isinstance(e, SessionEnded)][-1]


async def verify(k: Kiosk, pdf: bytes) -> None:
    """The printed bytes carry the demo authority's intact seal over the whole file."""
    seal = load_config(k.log.parent / "govkiosk.toml").seal
    report = await SealVerifier.from_settings(seal).verify_async(pdf)
    assert report.covers_whole_document


@pytest.mark.parametrize("item", ITEMS)
async def test_journey_prints_the_sealed_document_and_a_receipt(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, item: str
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        assert item in [row["code"].value for row in await k.session.call_list_items()]
        sid = await to_preview(k, item)
        png = await k.session.call_get_preview(sid, 0)
        assert png.startswith(b"\x89PNG")
        await k.session.call_choose(sid, "print")
        state = await k.until(step="done", state="done")
        assert state["choices"] == ["finish"]
        await k.session.call_choose(sid, "finish")
        last = await k.ended()
        assert (last["state"], last["holder"]) == ("done", "")
        printed = cupsd.captured()
        assert len(printed) == 1
        assert printed[0].startswith(b"%PDF")
        await verify(k, printed[0])
        receipts = k.printer.receipts
        wants_receipt = default_catalogue().get(item).printing.receipt  # type: ignore[union-attr]
        assert len(receipts) == (1 if wants_receipt else 0)
        if wants_receipt:
            lines = receipts[0].lines
            assert any(line.startswith("证件号码：") and "**********" in line for line in lines)
            assert receipts[0].qr_codes[0].startswith("https://")
        assert ended(k) == SessionEnded(item, "done", "", ended(k).duration)
        assert list((cupsd.root / "spool").glob("d*")) == []  # purged after printing
        # The paper used, for the consumables' prediction (upkeep/): counts only.
        sheets = [e.sheets for e in k.events if isinstance(e, A4Printed)]
        assert sheets == [last["pages"]]
        assert sheets[0] >= 1
        lengths = [e.length_mm for e in k.events if isinstance(e, ReceiptJobFinished)]
        assert len(lengths) == len(receipts)
        assert all(length > 20 for length in lengths)


@pytest.mark.parametrize(
    ("switch", "code"), [("tampered", "seal.tampered"), ("unsigned", "seal.unsigned")]
)
async def test_bad_seal_is_refused_never_printed_and_alarmed(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, switch: str, code: str
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        setattr(k.department.misbehaviour, switch, True)
        sid = await to_consent_given(k, "no_criminal_record")
        # Refused before the citizen is ever shown the document (no preview).
        state = await k.until(state="failed")
        assert state["step"] == "verify_seal"
        assert (state["error_code"], state["choices"]) == (code, ["finish"])
        assert "电子印章" in state["message"]
        await k.session.call_choose(sid, "finish")
        await k.ended()
        assert cupsd.captured() == []
        assert [e.code for e in k.events if isinstance(e, Alarm) and e.source == "seal"] == [code]
        assert ended(k).outcome == "failed"
        assert ended(k).error_code == code


async def test_paper_out_surfaces_and_retry_prints_once(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        cupsd.fail()
        sid = await to_preview(k, "id_card_print")
        await k.session.call_choose(sid, "print")
        state = await k.until(state="failed")
        assert (state["error_code"], state["choices"]) == ("printer.paper_out", ["retry", "cancel"])
        assert "缺纸" in state["message"]
        assert any(isinstance(e, Alarm) and e.code == "printer.paper_out" for e in k.events)
        assert cupsd.captured() == []
        cupsd.repair()  # staff load paper; the held job goes on
        await k.session.call_choose(sid, "retry")
        await k.until(step="done", state="done")
        await k.session.call_choose(sid, "finish")
        await k.ended()
        assert len(cupsd.captured()) == 1
        assert len(cupsd.connect().getJobs(which_jobs="all")) == 0  # purged


async def test_cancel_at_preview_wipes_and_prints_nothing(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        sid = await to_preview(k, "no_criminal_record")
        assert await k.session.call_cancel(sid)
        assert await k.session.call_get_session() == {}
        with pytest.raises(DBusError, match="no such session"):
            await k.session.call_get_preview(sid, 0)
        assert cupsd.captured() == []
        assert ended(k).outcome == "cancelled"


async def test_step_timeout_expires_the_session(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, "identity_timeout = 0.5") as k:
        await k.session.call_start_session("no_criminal_record", "en")
        state = await k.until(step="identity", state="waiting")
        assert state["prompt"] == "Please place your ID card on the reader"
        assert state["extendable"]  # less than extend_offer is left: "more time" is offered
        last = await k.ended()
        assert last["state"] == "expired"
        assert ended(k).outcome == "expired"


async def test_more_time_moves_the_deadline(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, "identity_timeout = 0.8") as k:
        sid = await k.session.call_start_session("no_criminal_record", "zh_CN")
        await k.until(step="identity", state="waiting")
        left = await k.session.call_extend_time(sid)
        assert left > 30
        state: Dict[str, Any] = await k.state()
        assert state["seconds_left"] > 30
        assert not state["extendable"]
        await k.session.call_cancel(sid)


async def test_walking_away_ends_the_session(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, "walkaway_timeout = 0.2") as k:
        await to_preview(k, "no_criminal_record")
        k.daemon.bus.publish(PersonLeft("presence@test"))
        last = await k.ended()
        assert last["state"] == "expired"
        assert ended(k).outcome == "walked_away"
        assert cupsd.captured() == []


async def test_no_new_session_while_the_power_policy_drains(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        k.daemon.bus.publish(ShutdownStageChanged("draining", "on battery too long"))
        with pytest.raises(DBusError) as refused:
            await k.session.call_start_session("no_criminal_record", "zh_CN")
        assert refused.value.type == "cn.govkiosk.Error.NotAccepting"
        k.daemon.bus.publish(ShutdownStageChanged("normal", "mains back"))
        sid = await k.session.call_start_session("no_criminal_record", "zh_CN")
        with pytest.raises(DBusError) as active:
            await k.session.call_start_session("no_criminal_record", "zh_CN")
        assert active.value.type == "cn.govkiosk.Error.SessionActive"
        with pytest.raises(DBusError) as unknown:
            await k.session.call_get_item("no-such-item")
        assert unknown.value.type == "cn.govkiosk.Error.UnknownItem"
        with pytest.raises(DBusError) as not_a_choice:
            await k.session.call_choose(sid, "print")
        assert not_a_choice.value.type == "cn.govkiosk.Error.NotAChoice"
        assert await k.session.call_end_session(sid, "home")
