"""A stand-in for systemd-logind on a private bus: records PowerOff and Reboot instead of doing them.

The only fake in the power tests: the real logind would power the machine off.
(No ``from __future__ import annotations``: dbus-next reads signatures from them.)
"""

from typing import List, Tuple

from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method

from govkiosk.power.logind import LOGIND, LOGIND_PATH, MANAGER


class FakeLogind(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(MANAGER)
        self.power_off_calls: List[bool] = []
        self.reboot_calls: List[bool] = []

    @method()
    def PowerOff(self, interactive: "b") -> None:  # noqa: F821
        self.power_off_calls.append(interactive)

    @method()
    def Reboot(self, interactive: "b") -> None:  # noqa: F821
        self.reboot_calls.append(interactive)


async def serve_logind(address: str) -> Tuple[MessageBus, FakeLogind]:
    bus = await MessageBus(bus_address=address).connect()
    logind = FakeLogind()
    bus.export(LOGIND_PATH, logind)
    await bus.request_name(LOGIND)
    return bus, logind
