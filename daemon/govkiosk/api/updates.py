"""``cn.govkiosk.Updates1``: signed, staged, health-gated updates (§8 g; docs/updates.md).

Ops' ``update.offer`` calls ``Offer`` through the daemon's own bus; the packaged bus policy
keeps it from the UI's group. ``GetState`` says what is installed and where the last
update stands (JSON).
"""

import json
from typing import Callable

from dbus_next.service import ServiceInterface, method

from .. import __version__
from ..contract.names import UPDATES_INTERFACE
from ..dbus import guarded
from ..runtime import Runtime
from ..session.state import SessionEnded
from ..updates.agent import UpdateAgent


class UpdatesInterface(ServiceInterface):
    def __init__(self, agent: UpdateAgent) -> None:
        super().__init__(UPDATES_INTERFACE)
        self._agent = agent

    @method()
    @guarded
    async def Offer(self, release: "s", force: "b", offer_id: "s") -> "s":
        """Verify a signed release and start it (download, wait, install); its state as JSON."""
        return json.dumps(await self._agent.offer(release, force, offer_id), ensure_ascii=False)

    @method()
    @guarded
    def GetState(self) -> "s":
        return json.dumps(self._agent.state(), ensure_ascii=False)


def install(runtime: Runtime, serving: Callable[[], bool]) -> UpdateAgent:
    agent = UpdateAgent(
        lambda: runtime.config.updates,
        runtime.bus,
        runtime.state_dir,
        __version__,
        lambda: serving() or not runtime.activity.idle,
    )
    runtime.bus.subscribe(SessionEnded, lambda _event: agent.wake())
    runtime.activity.add_listener(agent.wake)
    runtime.supervisor.add(agent)
    runtime.dbus.export(UpdatesInterface(agent))
    return agent
