"""A stand-in for the Kivy UI's ``cn.govkiosk.UI1`` (``govkiosk.ops.ui``) on a private bus.

The real UI serves it (``govkiosk_ui.remote``; tests/test_ui_ops.py in process,
tests/test_demo_ops.py through ops and a real ``govkiosk-ui``); this stand-in keeps the
ops method tests fast (no window, no Kivy start per test) and records what ops asked.
(No ``from __future__ import annotations``: dbus-next reads signatures from them.)
"""

from typing import Tuple

from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method

from govkiosk.contract.names import UI_BUS_NAME, UI_INTERFACE, UI_PATH

#: A 1×1 PNG: what a screenshot's bytes look like to ops.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a1f2e0d50000000049454e44ae426082"
)


class UiStandIn(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(UI_INTERFACE)
        self.restarts = 0

    @method()
    def Screenshot(self) -> "ay":  # noqa: F821
        return PNG

    @method()
    def Restart(self) -> None:
        self.restarts += 1


async def serve_ui(address: str) -> Tuple[MessageBus, UiStandIn]:
    bus = await MessageBus(bus_address=address).connect()
    ui = UiStandIn()
    bus.export(UI_PATH, ui)
    await bus.request_name(UI_BUS_NAME)
    return bus, ui
