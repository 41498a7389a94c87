"""The UI's part in remote operations, in the real Kivy UI against the whole kiosk.

``cn.govkiosk.UI1`` as the daemon's ops calls it (screenshots, refused while a citizen's
session is on screen), and the status bar's network and ops-link entries fed by the
daemon's ``cn.govkiosk.Ops1``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Tuple

import pytest
from PIL import Image

from govkiosk.contract.names import CITIZEN_ON_SCREEN, UI_BUS_NAME, UI_INTERFACE, UI_PATH
from govkiosk.dbus.call import CallError, call
from govkiosk.ops.link import OpsLinkChanged
from govkiosk.ops.network import NetworkChanged
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import kiosk
from harness.kivy_ui import Driver

pytestmark = [pytest.mark.ui, pytest.mark.asyncio(loop_scope="session")]


async def screenshot(bus: PrivateBus) -> bytes:
    (png,) = await call(
        bus.address, UI_INTERFACE, "Screenshot", destination=UI_BUS_NAME, path=UI_PATH
    )
    return bytes(png)


async def test_status_bar_shows_the_citizen_the_network_and_staff_the_ops_link(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    from govkiosk_ui.widgets.status_bar import line  # noqa: PLC0415 - Kivy set up by ui

    bar = ui.app.root.status_bar

    def ops() -> Tuple[str, str]:
        indicator = dict(bar.indicators())["ops"]
        return indicator.level, line("ops", indicator)

    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await ui.on_screen("home")
        # The ops link is the staff's business: not on the citizen's bar.
        assert [entry.text.split()[0] for entry in bar.entries()] == ["网络", "纸张"]
        # This kiosk has no [ops] host: the link is off, on purpose.
        await ui.until(lambda: ops() == ("off", "运维 未启用"), "ops link off")
        k.daemon.bus.publish(OpsLinkChanged("connected", "", 0))
        await ui.until(lambda: ops() == ("ok", "运维 已连接"), "ops link connected")
        k.daemon.bus.publish(OpsLinkChanged("waiting", "connection refused", 1))
        await ui.until(lambda: ops() == ("alert", "运维 未连接"), "ops link lost")
        for state, mark, words in (
            ("offline", "×", "断开"),
            ("local", "!", "仅内网"),
            ("online", "√", "已联网"),
        ):
            k.daemon.bus.publish(NetworkChanged(state))
            await ui.until(lambda m=mark: bar.ids.network.mark == m, f"network {state}")
            assert bar.ids.network.text == f"网络 {words}"
    # The daemon is gone: what it said no longer holds.
    await ui.on_screen("unavailable")
    assert (bar.ids.network.mark, ops()[0]) == ("?", "unknown")
    assert bar.ids.network.text == "网络 未知"


async def test_screenshot_for_ops_and_refused_during_a_session(
    ui: Driver, ui_bus: PrivateBus, cupsd: CupsServer, tmp_path: Path
) -> None:
    async with kiosk(tmp_path, ui_bus, cupsd) as k:
        await ui.on_screen("home")
        image = Image.open(io.BytesIO(await screenshot(ui_bus)))
        assert image.format == "PNG"
        assert image.size == tuple(ui.app.root.size)

        await k.session.call_start_session("id_card_print", "zh_CN")
        await ui.on_screen("card")
        with pytest.raises(CallError, match=CITIZEN_ON_SCREEN) as refused:
            await screenshot(ui_bus)
        assert "citizen" in str(refused.value)
        await ui.tap_text("取消办理")
        await ui.on_screen("home")
        await ui.until(lambda: not ui.app.citizen_on_screen(), "the session ended")
        assert (await screenshot(ui_bus)).startswith(b"\x89PNG")
