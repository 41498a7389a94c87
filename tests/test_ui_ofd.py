"""The OFD licence through the real Kivy UI, by touch, against the whole kiosk: the demo
department issues 居民户口簿电子证照 as an SM2-sealed OFD; the citizen sees both pages with
the seal's name under them (电子印章已核验：公安机关电子印章) and gets it printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import kiosk
from harness.kivy_ui import Driver, demo_catalogue

pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session")]

ITEM = "household_register_ofd"


async def test_the_ofd_licence_from_home_to_printed_by_touch(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await k.items.call_sync("office", demo_catalogue(), "demo-items.toml")
        await ui.until(lambda: ITEM in ui.app.items, "the OFD item")
        await ui.on_screen("home")
        await ui.tap_text("居民户口簿电子证照")
        await ui.on_screen("item")
        await ui.tap_text("开始办理")
        await ui.on_screen("card")
        await k.card()
        await ui.on_screen("confirm")
        await ui.tap_text("确认")
        await ui.on_screen("consent")
        await ui.choose("agree")
        await ui.on_screen("preview", timeout=30)
        preview = ui.app.screen("preview")
        page = preview.content.ids.page
        await ui.until(lambda: page.texture is not None, "the preview page")
        assert preview.pages == 2
        assert page.texture.height > page.texture.width  # an A4 page, upright
        assert preview.seal_text == "电子印章已核验：公安机关电子印章"
        await ui.tap_text("打印")
        await ui.on_screen("done", timeout=30)
        await ui.tap_text("完成")
        await ui.on_screen("home")
        await ui.until(lambda: not ui.app.journey.active, "the session ended")
        printed = cupsd.captured()
        assert len(printed) == 1
        assert printed[0].startswith(b"%PDF")
