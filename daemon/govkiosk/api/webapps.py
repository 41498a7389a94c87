"""Web-app items' wiring: the host of web-app sessions and its bridge, stopped with the daemon.

The bridge starts with the first web-app session (aiohttp is imported then, not at the
daemon's start) and listens on 127.0.0.1 until the daemon stops. The kiosk browser is
the host's ``launcher`` (``webapps/browser.py``), its profiles under the unit's runtime
directory; profiles a previous run left (it died with a browser open) are wiped here.
With ``[webapps] browser_host`` set, the browser is the browser host's
(``webapps/hostlink.py``): the daemon listens there while it runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..runtime import Runtime
from ..supervisor import Service
from ..webapps.browser import launcher, profile_root, wipe_stale_profiles
from ..webapps.hostlink import HostSpawner
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


class BrowserHostService(Service):
    """Listens for the browser host while the daemon runs."""

    name = "webapps-browser-host"

    def __init__(self, spawner: HostSpawner) -> None:
        self._spawner = spawner

    async def start(self) -> None:
        await self._spawner.start()

    async def serve(self) -> None:
        await self._spawner.serve()

    async def stop(self) -> None:
        await self._spawner.stop()


def install(runtime: Runtime) -> WebAppHost:
    profiles = profile_root()
    stale = wipe_stale_profiles(profiles)
    if stale:
        _LOGGER.warning("webapps: wiped %d browser profiles a previous run left", stale)
    settings = runtime.config.webapps
    spawner = None
    if settings.browser_host:
        spawner = HostSpawner(
            Path(settings.browser_host),
            settings.browser_host_uids,
            group=settings.browser_host_group,
        )
        runtime.supervisor.add(BrowserHostService(spawner))
    host = WebAppHost(lambda: runtime.config.webapps, launcher(profiles, spawner=spawner))
    runtime.supervisor.add(BridgeService(host))
    return host
