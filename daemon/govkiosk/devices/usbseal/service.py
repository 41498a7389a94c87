"""The supervised service that seals USB ports and keeps the registry in step with udev.

At start: migrate the audit tables, load open maintenance windows, seal every root hub,
open the udev monitor, then judge everything already present. Afterwards: every uevent,
every configuration reload, every window change, and a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional, Set

import pyudev

from ...bus import ConfigReloaded, EventBus
from ...store import Store
from ...supervisor import Service
from ...timeouts import wait_for
from ..hotplug import Hotplug
from ..registry import DeviceRegistry
from .audit import AuditLog
from .maintenance import MaintenanceWindows
from .sealer import Sealer
from .settings import UsbSection
from .sysfs import Sysfs

_LOGGER = logging.getLogger(__name__)

#: How long a stop waits for queued audit records to reach the database.
FLUSH_TIMEOUT = 1.0


class UsbSealService(Service):
    name = "usbseal"

    def __init__(
        self,
        settings: Callable[[], UsbSection],
        store: Store,
        bus: EventBus,
        registry: DeviceRegistry,
        *,
        context: Optional[pyudev.Context] = None,
        sysfs: Optional[Sysfs] = None,
    ) -> None:
        section = settings()
        self._settings = settings
        self._context = context or pyudev.Context()
        self.sysfs = sysfs or Sysfs(Path(section.sysfs))
        self.audit = AuditLog(store)
        self.windows = MaintenanceWindows(
            store,
            self.audit,
            section.operators,
            section.maintenance_max_minutes,
            token_max_age_days=section.token_max_age_days,
        )
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usbseal")
        self.sealer = Sealer(
            section.rules,
            self.sysfs,
            registry,
            bus,
            audit=self.audit,
            windows=self.windows,
            writer=self._writer,
            enforce=section.seal,
        )
        self._hotplug: Optional[Hotplug] = None
        self._tasks: Set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._unsubscribe = bus.subscribe(ConfigReloaded, self._on_reload)

    async def start(self) -> None:
        await self.audit.migrate()
        await self.windows.load()
        self.windows.eligible = self.sealer.rules.maintenance_ports()
        for hub in self.sysfs.root_hubs():
            self.sealer.seal_root_hub(hub)
        hotplug = Hotplug(self._context, self.sealer.handle)
        hotplug.start()  # before enumerating, so nothing falls between the two
        self._hotplug = hotplug
        hotplug.enumerate()
        _LOGGER.info(
            "usbseal: %d rules from %s", len(self.sealer.rules.rules), self.sealer.rules.source
        )

    async def serve(self) -> None:
        writer = asyncio.ensure_future(self.audit.run())
        self._tasks.add(writer)
        writer.add_done_callback(self._tasks.discard)
        interval = self._settings().reconcile_interval
        while True:
            left = self.windows.seconds_left()
            timeout = interval if left is None else min(interval, left)
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            await self.windows.expire()
            self.reconcile()

    async def stop(self) -> None:
        if self._hotplug is not None:
            self._hotplug.stop()
            self._hotplug = None
        try:
            await wait_for(self.audit.flush(), FLUSH_TIMEOUT)
        except asyncio.TimeoutError:
            _LOGGER.warning("usbseal: audit records not yet written are lost")
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def close(self) -> None:
        """At daemon exit, after the supervisor stopped the service."""
        self._unsubscribe()
        self._writer.shutdown(wait=True)

    def reconcile(self) -> None:
        """Judge every present device again (a timer, a reload, a window)."""
        if self._hotplug is not None:
            self._hotplug.enumerate()

    async def open_window(self, port: str, minutes: int, role: str, token: str) -> float:
        expires = await self.windows.open(port, minutes, role, token)
        self._wake.set()
        return expires

    async def close_window(self, port: str, role: str, token: str) -> None:
        await self.windows.close(port, role, token)
        self._wake.set()

    def _on_reload(self, _event: ConfigReloaded) -> None:
        self.sealer.rules = self._settings().rules
        self.windows.eligible = self.sealer.rules.maintenance_ports()
        self._wake.set()
