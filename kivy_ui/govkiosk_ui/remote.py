"""``cn.govkiosk.UI1``: what the daemon's ops asks of the UI (``govkiosk.ops.ui``).

The daemon cannot picture or restart a process in another user's graphical session,
so the UI serves this itself, on the connection it follows the daemon on: it owns the
name ``cn.govkiosk.UI1`` and exports the interface at ``/cn/govkiosk/UI1`` after every
(re)connect. A UI that starts while the old one is still leaving waits in the name's
queue and takes it over.

``Screenshot`` is refused while a citizen's session is on screen — the masked holder and
the document preview are personal data (§8 d) — whatever the daemon's own activity
gate said. ``Restart`` replies first, then the UI exits with ``RESTART_STATUS``.

(No ``from __future__ import annotations``: dbus-next reads the signatures from them.)
"""

import asyncio
import logging
from typing import Protocol

from dbus_next import DBusError, RequestNameReply
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, method

from govkiosk.contract.names import CITIZEN_ON_SCREEN, UI_BUS_NAME, UI_INTERFACE, UI_PATH

_LOGGER = logging.getLogger(__name__)

#: Time for the reply to ``Restart`` to leave before the UI stops.
RESTART_DELAY = 0.5
NAME_TIMEOUT = 5.0

#: The return annotation ``"ay"`` is the D-Bus signature dbus-next reads (as a string);
#: for mypy it names this alias, the Python type of that signature.
ay = bytes


class Screen(Protocol):
    """What the interface needs of the app."""

    def citizen_on_screen(self) -> bool: ...

    def screenshot_png(self) -> bytes: ...

    def restart(self) -> None: ...


class UiInterface(ServiceInterface):
    def __init__(self, screen: Screen) -> None:
        super().__init__(UI_INTERFACE)
        self._screen = screen

    @method()
    def Screenshot(self) -> "ay":
        if self._screen.citizen_on_screen():
            _LOGGER.warning("ops: screenshot refused: a citizen's session is on screen")
            raise DBusError(
                CITIZEN_ON_SCREEN,
                "a citizen's session is on screen (personal data); "
                "try again when the kiosk is idle",
            )
        png = self._screen.screenshot_png()
        _LOGGER.info("ops: screenshot taken (%d bytes)", len(png))
        return png

    @method()
    def Restart(self) -> None:
        _LOGGER.warning("ops: restart requested; the UI stops in %g s", RESTART_DELAY)
        asyncio.get_running_loop().call_later(RESTART_DELAY, self._screen.restart)


async def serve(bus: MessageBus, interface: UiInterface) -> None:
    """Export ``interface`` on ``bus`` and ask for the name; a refusal only costs ops' access."""
    bus.export(UI_PATH, interface)
    try:
        reply = await asyncio.wait_for(bus.request_name(UI_BUS_NAME), NAME_TIMEOUT)
    except (DBusError, asyncio.TimeoutError) as err:
        _LOGGER.warning(
            "%s: cannot own the name (%s): ops cannot take screenshots or restart the UI",
            UI_BUS_NAME,
            err,
        )
        return
    if reply is RequestNameReply.IN_QUEUE:
        _LOGGER.info("%s: another UI owns the name; taking it over when it leaves", UI_BUS_NAME)
    else:
        _LOGGER.info("%s: serving screenshots and restarts for ops", UI_BUS_NAME)
