"""A real daemon (``app.Daemon``) in the test's event loop, linked to an ops :class:`Site`."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator, Optional

from govkiosk.app import Daemon
from govkiosk.config import load_config
from govkiosk.ops.link import LinkState, OpsLinkChanged

from .eventually import eventually
from .govkioskd import CONFIG
from .opssite import Site

KIOSK = "test-hlj-0001"  # harness.govkioskd.CONFIG's kiosk id


class Kiosk:
    def __init__(self, directory: Path, daemon: Daemon) -> None:
        self.directory = directory
        self.daemon = daemon
        self.link_states: list = []
        daemon.bus.subscribe(OpsLinkChanged, lambda e: self.link_states.append(e.state))
        self.task: Optional[asyncio.Task[int]] = None

    @property
    def runtime(self):  # type: ignore[no-untyped-def]
        return self.daemon.runtime

    async def connected(self, timeout: float = 20.0) -> None:
        await eventually(
            lambda: bool(self.link_states) and self.link_states[-1] == LinkState.CONNECTED.value,
            "ops link connected",
            timeout,
        )


def write_config(site: Site, directory: Path, extra: str, **ops: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "govkiosk.toml"
    config_path.write_text(CONFIG + site.ops_section(KIOSK, **ops) + extra, encoding="utf-8")
    return config_path


@contextlib.asynccontextmanager
async def running_kiosk(
    site: Site, directory: Path, bus_address: str, extra: str = "", **ops: object
) -> AsyncIterator[Kiosk]:
    config_path = write_config(site, directory, extra, **ops)
    daemon = Daemon(
        config_path, load_config(config_path), directory / "state", bus_address=bus_address
    )
    kiosk = Kiosk(directory, daemon)
    kiosk.task = asyncio.ensure_future(daemon.run())
    try:
        yield kiosk
    finally:
        daemon.request_stop()
        await asyncio.wait([kiosk.task], timeout=15)
