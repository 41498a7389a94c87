"""The citizen's journeys through the real Kivy UI, by touch, against the whole kiosk.

The UI runs in this process (``ui`` fixture); each test brings the whole kiosk
(harness.kiosk: the daemon, simulated card reader and receipt printer, the demo
department, a private cupsd, the camera simulator) onto the bus the UI follows, and taps
its way through as a citizen would. Only the card is "placed" by the test, on the
simulated reader; the face camera shows a live person (the card's holder) unless the test
switches it to a printed photo, and the document camera a page lying on the desk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from kivy.graphics import Line
from PIL import Image

from govkiosk.contract.names import UI_BUS_NAME
from govkiosk.devices.presence.events import PersonLeft
from govkiosk.items.catalogue import default_catalogue
from govkiosk.power.service import ShutdownStageChanged
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import SIMULATED_FACES, Kiosk, kiosk
from harness.kivy_ui import Driver, demo_catalogue, shown

pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session")]

ITEMS = default_catalogue().codes
#: The demo department issues a pension proof only to someone past retirement age.
BORN_BEFORE = {"pension_benefit_proof": 1960}


async def names(k: Kiosk) -> Dict[str, str]:
    return {row["code"].value: row["name"].value for row in await k.session.call_list_items()}


async def at_home(ui: Driver, k: Kiosk, every_item: bool = True) -> Dict[str, str]:
    """The UI has found this test's daemon and shows its catalogue (``every_item``: with
    every item available, as a kiosk whose devices are all there and ready shows it)."""
    items = await names(k)
    await ui.until(lambda: set(ui.app.items) == set(items), "the catalogue loaded")
    # READY=1 does not wait for the cameras: their items become available a moment later,
    # and home is built again then (a tap as it is rebuilt would land on the old tile).
    await ui.until(
        lambda: not every_item or all(item.available for item in ui.app.items.values()),
        "every item available",
    )
    await ui.on_screen("home")
    await ui.frames(2)
    return items


async def to_card(ui: Driver, k: Kiosk, item: str) -> None:
    """From home: the item's tile, its detail, "start": the insert-card step."""
    items = await at_home(ui, k)
    await ui.tap_text(items[item])
    await ui.on_screen("item")
    await ui.tap_text("开始办理")
    await ui.on_screen("card")


async def to_confirm(ui: Driver, k: Kiosk, item: str) -> None:
    await to_card(ui, k, item)
    assert ui.app.screen("card").prompt == "请将身份证放在读卡区"
    await k.card(BORN_BEFORE.get(item, 2100))
    await ui.on_screen("confirm")
    holder = ui.app.screen("confirm").holder
    assert "*" in holder  # masked by the daemon; the UI never sees more


@pytest.mark.parametrize("item", ITEMS)
async def test_each_item_from_home_to_done_by_touch(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path, item: str
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await to_confirm(ui, k, item)
        await ui.tap_text("确认")
        await ui.on_screen("consent")
        await ui.choose("agree")
        await ui.on_screen("preview")
        preview = ui.app.screen("preview")
        await ui.until(lambda: preview.content.ids.page.texture is not None, "the preview page")
        assert preview.pages >= 1
        await ui.tap_text("打印")
        await ui.on_screen("done", timeout=30)
        assert ui.app.screen("done").prompt
        shown = [w.text for w in ui.app.screen("done").walk() if hasattr(w, "text")]
        printed = ui.app.items[item].receipt  # the daemon says when the slip is out
        assert ("回执已打印，请取走材料和身份证" if printed else "请取走您的材料和身份证") in shown
        await ui.tap_text("完成")
        await ui.on_screen("home")
        await ui.until(lambda: not ui.app.journey.active, "the session ended")
        assert await k.state() == {}
        assert len(cupsd.captured()) == 1
        said = ui.app.speaker.said
        assert "请将身份证放在读卡区" in said  # every step's prompt was spoken


async def test_cancel_returns_home_and_wipes(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await to_confirm(ui, k, "id_card_print")
        await ui.tap_text("取消办理")
        await ui.on_screen("home")
        last = await k.ended()
        assert (last["state"], last["holder"]) == ("cancelled", "")
        assert cupsd.captured() == []


async def test_home_during_a_session_asks_first_then_ends_it(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await to_confirm(ui, k, "id_card_print")
        await ui.tap(ui.app.root.nav_bar.ids.home)
        await ui.until(lambda: ui.app.leave_dialog is not None, "the question")
        question = ui.app.leave_dialog
        await ui.tap_text("继续办理")
        # Gone at once: a dialog still fading out would take the next tap.
        assert question.parent is None
        assert ui.app.leave_dialog is None
        assert ui.app.current == "confirm"
        await ui.tap(ui.app.root.nav_bar.ids.home)
        await ui.tap_text("结束办理")
        await ui.on_screen("home")
        assert (await k.ended())["state"] in ("cancelled", "expired")


async def test_more_time_is_offered_before_expiry_and_moves_the_deadline(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd, "identity_timeout = 25") as k:
        await to_card(ui, k, "no_criminal_record")
        card = ui.app.screen("card")
        await ui.until(lambda: card.warning and card.extendable, "the more-time offer")
        assert card.countdown_text.startswith("剩余")
        assert "时间快到了，需要更多时间吗？" in ui.app.speaker.said
        await ui.tap_text("延长时间")
        await ui.until(lambda: not card.warning, "the deadline moved")
        assert (await k.state())["seconds_left"] > 30
        await ui.tap_text("取消办理")
        await ui.on_screen("home")


async def test_timeout_returns_home_and_wipes(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd, "identity_timeout = 1") as k:
        await to_card(ui, k, "no_criminal_record")
        await ui.on_screen("home")
        assert (await k.ended())["state"] == "expired"
        assert not ui.app.journey.active


async def test_walking_away_ends_the_session_and_the_ui_follows(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd, "walkaway_timeout = 0.2") as k:
        await to_confirm(ui, k, "household_register_print")
        k.daemon.bus.publish(PersonLeft("presence@test"))
        await ui.on_screen("home")
        assert (await k.ended())["state"] == "expired"


async def test_printer_error_shows_one_next_action_and_retry_prints(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await to_confirm(ui, k, "id_card_print")
        await ui.tap_text("确认")
        await ui.until(lambda: any("同意" in b.text for b in ui.buttons()), "consent")
        await ui.choose("agree")
        await ui.on_screen("preview")
        cupsd.fail()
        await ui.tap_text("打印")
        await ui.on_screen("error", timeout=30)
        error = ui.app.screen("error")
        assert "缺纸" in error.message
        assert error.session.error_code == "printer.paper_out"
        choices = list(error.ids.choices.children)
        assert [b.value for b in choices if b.primary] == ["retry"]  # one clear next action
        cupsd.repair()
        await ui.tap_text("重试")
        await ui.on_screen("done", timeout=30)
        await ui.tap_text("完成")
        await ui.on_screen("home")
        assert len(cupsd.captured()) == 1


async def test_ups_on_battery_banner_then_out_of_service_then_back(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await at_home(ui, k)
        root = ui.app.root
        k.daemon.bus.publish(ShutdownStageChanged("on_battery", "mains lost"))
        await ui.until(lambda: "备用电源" in root.banner, "the on-battery banner")
        ups = dict(root.status_bar.indicators())["ups"]  # the staff's entry
        assert (ups.level, "on battery" in ups.msgid) == ("warn", True)
        k.daemon.bus.publish(ShutdownStageChanged("out_of_service", "battery low"))
        await ui.on_screen("out_of_service")
        k.daemon.bus.publish(ShutdownStageChanged("normal", "mains back"))
        await ui.on_screen("home")
        await ui.until(lambda: root.banner == "", "the banner gone")


async def test_english_at_runtime_then_back_to_chinese(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await at_home(ui, k)
        await ui.tap_text("English")
        await ui.until(lambda: ui.app.root.nav_bar.where == "Home", "English navigation")
        await ui.tap_text(ui.app.items["no_criminal_record"].shown("en").name)
        await ui.tap_text("Start")
        await ui.on_screen("card")
        assert ui.app.screen("card").prompt == "Please place your ID card on the reader"
        await ui.tap_text("Cancel")
        await ui.on_screen("home")
        await ui.tap_text("中文")
        await ui.until(lambda: ui.app.root.nav_bar.where == "首页", "Chinese again")


#: The face is watched for 2 s before the decision (0.6 s by default): time enough to see
#: the camera's picture arrive on screen before the step moves on, however busy the machine.
WATCHED_FACES = SIMULATED_FACES + "\nwindow_seconds = 2"


async def face_step_shown(ui: Driver) -> Any:
    """The face screen with a real camera picture and the oval guide drawn over it."""
    await ui.on_screen("face")
    picture = ui.app.screen("face").content.ids.picture
    await ui.until(lambda: picture.texture is not None, "the face camera's picture")
    assert (picture.texture.width, picture.texture.height) == (640, 480)
    x, y, width, height = picture.frame
    ox, oy, ow, oh = picture.oval
    assert (x < ox, ox + ow < x + width) == (True, True)  # inside the picture across
    assert (y < oy, oy + oh < y + height) == (True, True)  # and up and down
    assert oh > height / 2  # the face fills most of the picture's height
    drawn = [i.ellipse for i in picture.canvas.after.children if isinstance(i, Line) and i.ellipse]
    assert {tuple(e[:4]) for e in drawn} == {tuple(picture.oval)}  # its edge and its line
    assert len(drawn) == 2
    return picture


async def test_a_face_item_through_the_face_check_to_the_printed_document(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd, face=WATCHED_FACES) as k:
        await to_confirm(ui, k, "no_criminal_record")
        await ui.tap_text("确认")
        picture = await face_step_shown(ui)
        face = ui.app.screen("face")
        assert face.note == "第 1 次核验，共 3 次"
        assert not face.extendable  # an attempt has its own limit: no "more time"
        await ui.until(lambda: any("同意" in b.text for b in ui.buttons()), "consent")
        assert picture.texture is None  # the citizen's face is gone with the screen
        await ui.choose("agree")
        await ui.on_screen("preview")
        await ui.tap_text("打印")
        await ui.on_screen("done", timeout=30)
        await ui.tap_text("完成")
        await ui.on_screen("home")
        assert len(cupsd.captured()) == 1
        assert [e.result for e in k.events if type(e).__name__ == "FaceChecked"] == ["matched"]


async def test_a_printed_photo_is_refused_and_the_retry_with_the_person_goes_on(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd, face=WATCHED_FACES) as k:
        k.camera.control({"scenario": "photo"})
        await to_confirm(ui, k, "no_criminal_record")
        await ui.tap_text("确认")
        await face_step_shown(ui)
        await ui.on_screen("error")
        error = ui.app.screen("error")
        assert error.session.error_code == "face.not_live"
        assert "活体" in error.message
        assert [b.value for b in error.ids.choices.children if b.primary] == ["retry"]
        assert ui.app.screen("face").content.ids.picture.texture is None
        k.camera.control({"scenario": "live"})
        await ui.tap_text("重试")
        await face_step_shown(ui)
        assert ui.app.screen("face").note == "第 2 次核验，共 3 次"
        await ui.tap_text("不同意")
        await ui.on_screen("home")
        results = [e.result for e in k.events if type(e).__name__ == "FaceChecked"]
        assert results == ["not_live.print", "matched"]


async def test_a_paper_material_is_captured_by_itself_reviewed_and_accepted(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await k.items.call_sync("office", demo_catalogue(), "demo-items.toml")
        await ui.until(lambda: "remote_medical_filing" in ui.app.items, "the demo item")
        await to_confirm(ui, k, "remote_medical_filing")
        await ui.tap_text("确认")
        await ui.choose("agree")
        await ui.on_screen("capture")
        capture = ui.app.screen("capture")
        assert capture.detail.startswith("[b]异地居住证明或工作证明[/b]")
        assert "第 1 页，共 1 页" in capture.detail
        # Nobody presses "capture": the page lying still is taken, straightened, shown.
        await ui.until(lambda: capture.reviewing, "the page for review")
        picture = capture.content.ids.picture
        await ui.until(lambda: picture.texture is not None, "the corrected page")
        assert picture.texture.height > picture.texture.width  # the A4 page, upright
        assert picture.points == []  # no outline over the corrected page
        shown = {b.value for b in capture.ids.choices.children}
        assert shown == {"accept", "retake", "cancel"}
        assert {"使用此页", "重拍"} <= {b.text.split()[-1] for b in ui.buttons()}
        await ui.tap_text("使用此页")
        await ui.on_screen("preview", timeout=30)
        assert picture.texture is None
        preview = ui.app.screen("preview")
        await ui.until(lambda: preview.content.ids.page.texture is not None, "the preview page")
        [(material, number, kind, _size)] = k.department.attachments
        assert (material, number, kind) == ("异地居住证明或工作证明", 1, "application/pdf")
        await ui.tap_text("取消办理")
        await ui.on_screen("home")


async def test_an_item_this_kiosk_cannot_run_says_so_and_offers_no_start(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd, face='decoder = "none"') as k:
        items = await at_home(ui, k, every_item=False)
        tile = ui.button(items["no_criminal_record"])
        assert "本机暂不可办理" in tile.text
        await ui.tap(tile)
        await ui.on_screen("item")
        assert not ui.app.screen("item").available
        assert not [b for b in ui.buttons() if "开始办理" in b.text]
        notice = ui.app.screen("item").ids.notice_text
        assert notice.text == "本机暂不能办理此事项，请到人工窗口办理。"
        assert shown(notice)
        await ui.tap(ui.app.root.nav_bar.ids.back)
        await ui.tap_text(items["id_card_print"])
        await ui.on_screen("item")
        assert not shown(notice)
        await ui.tap_text("开始办理")
        await ui.on_screen("card")
        await ui.tap_text("取消办理")
        await ui.on_screen("home")


async def test_a_camera_lost_mid_step_is_said_and_its_items_wait_until_it_is_back(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        k.camera.control({"scenario": "nobody"})  # the attempt waits for a face
        await to_confirm(ui, k, "no_criminal_record")
        await ui.tap_text("确认")
        await face_step_shown(ui)
        k.camera.control({"action": "unplug"})
        await ui.on_screen("error")
        error = ui.app.screen("error")
        assert (error.session.error_code, "摄像头" in error.message) == ("face.camera_lost", True)
        await ui.tap_text("取消办理")
        items = await at_home(ui, k, every_item=False)
        # The daemon says which items need the camera; the catalogue follows it.
        await ui.until(
            lambda: "本机暂不可办理" in ui.button(items["contribution_record_print"]).text,
            "the face items unavailable",
        )
        assert "本机暂不可办理" not in ui.button(items["id_card_print"]).text
        await ui.tap_text(items["no_criminal_record"])
        await ui.on_screen("item")
        item = ui.app.screen("item")
        assert not item.available
        assert not [b for b in ui.buttons() if "开始办理" in b.text]
        k.camera.control({"action": "plug", "scenario": "live"})
        await ui.until(lambda: item.available, "the item open again")  # the screen follows
        await ui.tap_text("开始办理")
        await ui.on_screen("card")
        await ui.tap_text("取消办理")
        await ui.on_screen("home")


async def test_the_card_step_shows_the_hall_and_where_this_kiosks_reader_is(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    picture = tmp_path / "reader.png"
    Image.new("RGB", (420, 250), (30, 90, 160)).save(picture)
    lines = f'hall = "哈尔滨市政务服务中心"\ncard_reader = "right"\ncard_reader_image = "{picture}"'
    async with kiosk(tmp_path, ui_bus, cupsd, kiosk_lines=lines) as k:
        await at_home(ui, k)
        assert ui.app.root.nav_bar.hall == "哈尔滨市政务服务中心"
        await ui.until(lambda: ui.app.card_reader_picture is not None, "the reader's picture")
        assert ui.app.card_reader_picture.size == (420, 250)
        await to_card(ui, k, "id_card_print")
        assert "右" in ui.app.card_reader_text  # the configured place, in words
        shown = [w for w in ui.app.screen("card").walk() if getattr(w, "texture", None) is not None]
        assert any(w.texture is ui.app.card_reader_picture for w in shown)
        await ui.tap_text("取消办理")
        await ui.on_screen("home")


async def test_a_ui_that_stopped_mid_session_tells_the_citizen_when_it_is_back(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await to_confirm(ui, k, "household_register_print")
        # What the daemon sees of a UI that died: its name leaves the bus. The daemon
        # ends the session and wipes it at once.
        bus = ui.app.client._bus
        assert bus is not None
        await bus.release_name(UI_BUS_NAME)
        try:
            ended = await k.ended()
        finally:  # the UI runs on for the tests after this one: it answers for UI1 again
            await bus.request_name(UI_BUS_NAME)
        assert ended["error_code"] == "session.ui_gone"
        await ui.on_screen("home")
        # The UI comes back (its start resumes the daemon's session): none is left, and
        # it says why, once.
        await ui.app.journey.resume()
        await ui.until(lambda: "信息已清除" in ui.app.root.notice, "the notice")
        assert "终端屏幕异常" in ui.app.root.notice
        assert await k.session.call_take_notice() == ""
