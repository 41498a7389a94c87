"""Web-app items' wiring: the host of web-app sessions and its bridge, stopped with the daemon.

The bridge starts with the first web-app session (aiohttp is imported then, not at the
daemon's start) and listens on 127.0.0.1 until the daemon stops. The kiosk browser is
the host's ``launcher`` (``webapps/browser.py``), its profiles under the unit's runtime
directory; profiles a previous run left (it died with a browser open) are wiped here.
"""

from __future__ import annotations

import logging

from ..runtime import Runtime
from ..supervisor import Service
from ..webapps.browser import launcher, profile_root, wipe_stale_profiles
from ..webapps.session import WebAppHost

_LOGGER = logging.getLogger(__name__)


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
    profiles = profile_root()
    stale = wipe_stale_profiles(profiles)
    if stale:
        _LOGGER.warning("webapps: wiped %d browser profiles a previous run left", stale)
    host = WebAppHost(lambda: runtime.config.webapps, launcher(profiles))
    runtime.supervisor.add(BridgeService(host))
    return host
