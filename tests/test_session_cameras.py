"""The camera steps of a citizen's journey, on the whole kiosk (harness.kiosk) over D-Bus.

Face verification (人证核验): the binocular camera simulator shows a live person, a printed
photo on a stand or a screen replaying a face, and the card carries the photo of the same
person or of another; the camera is unplugged mid-step. The document camera (高拍仪): a page
slides under it, is captured once it lies still, is reviewed, and reaches the department.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import cv2
import numpy as np
import pytest
from dbus_next.errors import DBusError

from govkiosk.bus import Alarm
from govkiosk.devices.camera.events import CameraStateChanged
from govkiosk.items.catalogue import DEFAULT_CATALOGUE
from harness.camera import FACES
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import SIMULATED_FACES, Kiosk, card_photo, kiosk

ITEM = "no_criminal_record"
REPO = Path(__file__).resolve().parents[1]


async def to_face_step(k: Kiosk, photo: bytes = b"") -> str:
    """A session of a card+face item with the card confirmed: the face step has begun."""
    sid: str = await k.session.call_start_session(ITEM, "zh_CN")
    await k.until(step="identity", state="waiting")
    await k.card(photo=photo)
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="face_verify", camera="face")
    return sid


async def until_rows(store: Any) -> List[Any]:
    """The face audit's rows once the audit service has written one (it writes behind)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        rows = await store.fetchall("SELECT * FROM face_checks ORDER BY id")
        if rows or loop.time() > deadline:
            return list(rows)
        await asyncio.sleep(0.05)


def checks(k: Kiosk) -> list:  # type: ignore[type-arg]
    return [e for e in k.events if type(e).__name__ == "FaceChecked"]


async def test_the_cards_holder_passes_and_the_audit_keeps_no_image(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        sid = await to_face_step(k)
        jpeg, outline = await k.camera_frame(sid)
        picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape[:2] == (480, 640)
        assert outline == []
        state = await k.until(step="consent", state="waiting")
        assert (state["camera"], state["attempt"], state["attempts"]) == ("", 1, 3)
        [check] = checks(k)
        assert (check.item_code, check.result, check.attempt) == (ITEM, "matched", 1)
        assert 0.5 < check.score <= 1.0
        assert set(vars(check)) == {"item_code", "result", "score", "attempt"}
        # The audit keeps the same, and only that (§8 d): no image, no embedding, no holder.
        store = k.daemon.runtime.store
        columns = [row[1] for row in await store.fetchall("PRAGMA table_info(face_checks)")]
        assert columns == ["id", "at", "item_code", "result", "score", "attempt"]
        rows = await until_rows(store)
        assert [tuple(row)[2:] for row in rows] == [(ITEM, "matched", check.score, 1)]
        assert await k.session.call_get_camera_frame(sid) == [b"", []]  # the step is over


@pytest.mark.parametrize(
    ("scenario", "reason"), [("screen", "not_live.screen"), ("photo", "not_live.print")]
)
async def test_a_screen_replay_or_a_printed_photo_is_refused(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, scenario: str, reason: str
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        k.camera.control({"scenario": scenario})
        await to_face_step(k)
        state = await k.until(step="face_verify", state="failed")
        assert (state["error_code"], state["choices"]) == ("face.not_live", ["retry", "cancel"])
        assert "活体" in state["message"]
        assert [c.result for c in checks(k)] == [reason]


async def test_another_persons_card_is_refused(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        await to_face_step(k, photo=card_photo(FACES / "biden.jpg"))
        state = await k.until(step="face_verify", state="failed")
        assert state["error_code"] == "face.not_matched"
        [check] = checks(k)
        assert check.result == "not_matched"
        assert check.score < 0.5


async def test_after_the_last_attempt_the_citizen_goes_to_a_counter_and_staff_are_called(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, face=SIMULATED_FACES + "\nattempts = 2") as k:
        k.camera.control({"scenario": "photo"})
        sid = await to_face_step(k)
        await k.until(step="face_verify", state="failed", attempt=1)
        await k.session.call_choose(sid, "retry")
        state = await k.until(step="face_verify", state="failed", attempt=2)
        assert (state["error_code"], state["choices"]) == ("face.fallback", ["finish"])
        assert "人工窗口" in state["message"]
        alarms = [e for e in k.events if isinstance(e, Alarm) and e.code == "face.fallback"]
        assert len(alarms) == 1
        await k.session.call_choose(sid, "finish")
        last = await k.ended()
        assert (last["state"], last["holder"]) == ("failed", "")


async def test_a_camera_unplugged_mid_step_gives_a_message_and_a_retry_that_works(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        k.camera.control({"scenario": "nobody"})  # the attempt waits for a face
        sid = await to_face_step(k)
        await k.camera_frame(sid)
        with k.daemon.bus.stream(CameraStateChanged) as states:
            k.camera.control({"action": "unplug"})
            state = await k.until(step="face_verify", state="failed")
            assert (state["error_code"], state["choices"]) == (
                "face.camera_lost",
                ["retry", "cancel"],
            )
            assert "摄像头" in state["message"]
            k.camera.control({"action": "plug", "scenario": "live"})
            hub = k.daemon.devices.cameras
            while not hub.available("face_camera_rgb") or not hub.available("face_camera_ir"):
                await states.get()
        assert checks(k) == []  # a lost camera is not the citizen's attempt
        await k.session.call_choose(sid, "retry")
        await k.until(step="consent", state="waiting")
        assert [c.result for c in checks(k)] == ["matched"]


async def test_without_face_verification_its_items_are_unavailable_and_say_why(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    async with kiosk(tmp_path, private_bus, cupsd, face='decoder = "none"') as k:
        rows: Dict[str, Dict[str, Any]] = {
            row["code"].value: {key: v.value for key, v in row.items()}
            for row in await k.session.call_list_items()
        }
        face_items = {code for code, row in rows.items() if row["identity"] == "card+face"}
        assert ITEM in face_items
        assert len(face_items) == 5
        for code, row in rows.items():
            assert row["available"] is (code not in face_items)
        assert "face verification is not set up" in rows[ITEM]["unavailable_reason"]
        with pytest.raises(DBusError) as refused:
            await k.session.call_start_session(ITEM, "zh_CN")
        assert refused.value.type == "cn.govkiosk.Error.ItemUnavailable"
        assert rows["id_card_print"]["available"] is True


async def test_a_paper_material_is_captured_reviewed_and_sent_with_the_query(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    catalogue = DEFAULT_CATALOGUE.read_text(encoding="utf-8") + (
        REPO / "config" / "demo-items.toml"
    ).read_text(encoding="utf-8")
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        await k.items.call_sync("office", catalogue, "demo-items.toml")
        sid = await k.session.call_start_session("remote_medical_filing", "zh_CN")
        await k.until(step="identity", state="waiting")
        await k.card()
        await k.until(step="identity", choices=["confirm", "cancel"])
        await k.session.call_choose(sid, "confirm")
        await k.until(step="consent", state="waiting")
        await k.session.call_choose(sid, "agree")
        aiming = await k.until(
            step="capture_materials", camera="document", choices=["capture", "cancel"]
        )
        assert (aiming["material"], aiming["page"], aiming["page_count"]) == (
            "异地居住证明或工作证明",
            1,
            1,
        )
        # The page slides in and settles: it is captured by itself, then shown for review.
        review = await k.until(step="capture_materials", choices=["accept", "retake", "cancel"])
        jpeg, _outline = await k.camera_frame(sid)
        page = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert page.shape[0] > page.shape[1]  # the A4 page, upright
        assert review["camera"] == "document"
        await k.session.call_choose(sid, "retake")
        await k.until(step="capture_materials", choices=["accept", "retake", "cancel"])
        await k.session.call_choose(sid, "accept")
        await k.until(step="preview", state="waiting")
        [(material, number, kind, size)] = k.department.attachments
        assert (material, number, kind) == ("异地居住证明或工作证明", 1, "application/pdf")
        assert size > 10_000
