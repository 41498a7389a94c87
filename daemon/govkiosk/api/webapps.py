"""Web-app items' wiring: the host of web-app sessions and its bridge, stopped with the daemon.

The bridge starts with the first web-app session (aiohttp is imported then, not at the
daemon's start) and listens on 127.0.0.1 until the daemon stops. The kiosk browser is
the host's ``launcher`` (``webapps/browser.py``); without one the page must be opened
otherwise (tests drive it with an HTTP client).
"""

from __future__ import annotations

from ..runtime import Runtime
from ..supervisor import Service
from ..webapps.session import WebAppHost


class BridgeService(Service):
    """Stops the bridge (and with it any open connection) when the daemon stops."""

    name = "webapps"

    def __init__(self, host: WebAppHost) -> None:
        self._host = host

    async def start(self) -> None:
        """The bridge starts with the first web-app session."""

    async def stop(self) -> None:
        await self._host.stop()


def install(runtime: Runtime) -> WebAppHost:
    host = WebAppHost(lambda: runtime.config.webapps)
    runtime.supervisor.add(BridgeService(host))
    return host
