"""What ops may know about the kiosk, gathered from the event bus.

Reads for ``status``, ``devices``, telemetry and the shadow come from here rather than
from the D-Bus API, so they keep working when D-Bus is down — exactly when ops needs
them. Only non-personal events are subscribed (personal ones never reach ops anyway).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List

from .. import __version__
from ..bus import Alarm, EventBus
from ..devices.receipt.events import ReceiptJobFinished, ReceiptPrinterStateChanged
from ..devices.registry import DeviceChanged
from ..devices.ups.state import UpsStateChanged
from ..evaluation.store import UsageStore
from ..session.state import SessionEnded
from ..store import StoreError
from ..upkeep.store import UpkeepStore
from .host import Host

_LOGGER = logging.getLogger(__name__)


class KioskView:
    def __init__(self, host: Host, clock: Callable[[], float] = time.monotonic) -> None:
        self._host = host
        self._clock = clock
        self._started = clock()
        self.devices: Dict[str, Dict[str, str]] = {}
        self.ups: Dict[str, Any] = {}
        self.printers: Dict[str, Dict[str, str]] = {}
        self.prints: Counter[str] = Counter()
        self.sessions: Counter[str] = Counter()
        self.alarms: Counter[str] = Counter()
        self.usage_store = UsageStore(host.store)
        bus: EventBus = host.bus
        self._unsubscribers = [
            bus.subscribe(DeviceChanged, self._on_device),
            bus.subscribe(UpsStateChanged, self._on_ups),
            bus.subscribe(ReceiptPrinterStateChanged, self._on_printer),
            bus.subscribe(ReceiptJobFinished, self._on_job),
            bus.subscribe(SessionEnded, self._on_session),
            bus.subscribe(Alarm, self._on_alarm),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    def _on_device(self, event: DeviceChanged) -> None:
        if event.action == "removed":
            self.devices.pop(event.id, None)
            return
        self.devices[event.id] = {
            "id": event.id,
            "role": event.role,
            "port": event.port,
            "state": event.state,
            "driver": event.driver,
        }

    def _on_ups(self, event: UpsStateChanged) -> None:
        self.ups = {"device": event.device_id, **event.state.as_dict()}

    def _on_printer(self, event: ReceiptPrinterStateChanged) -> None:
        self.printers[event.device] = {"state": event.state, "detail": event.detail}

    def _on_job(self, event: ReceiptJobFinished) -> None:
        self.prints[event.outcome.value] += 1

    def _on_session(self, event: SessionEnded) -> None:
        self.sessions[event.outcome] += 1

    def _on_alarm(self, event: Alarm) -> None:
        self.alarms[event.severity.value] += 1

    def services(self) -> List[Dict[str, Any]]:
        return [
            {"name": h.name, "state": h.state.value, "detail": h.detail, "restarts": h.restarts}
            for h in self._host.supervisor.health()
        ]

    def device_rows(self) -> List[Dict[str, str]]:
        return [self.devices[k] for k in sorted(self.devices)]

    def health(self) -> Dict[str, Any]:
        """Telemetry and ``status``: no personal data, only states and counts."""
        services = self.services()
        disk = _disk(self._host.state_dir)
        activity = self._host.activity
        return {
            "version": __version__,
            "uptime": round(self._clock() - self._started, 1),
            "healthy": all(s["state"] == "running" for s in services),
            "services": services,
            "devices": self.device_rows(),
            "ups": self.ups,
            "printers": self.printers,
            "paper": {d: p["state"] for d, p in self.printers.items()},
            "disk": disk,
            "idle": activity.idle,
            "busy_with": list(activity.busy_with()),
            "counts": {
                "sessions": dict(self.sessions),
                "prints": dict(self.prints),
                "alarms": dict(self.alarms),
            },
            "load": list(os.getloadavg()),
        }

    async def usage(self, days: int = 0) -> Dict[str, Any]:
        """Sessions by outcome and 好差评 by level and reason per published item, from the
        store: the last ``days`` days, 0: all kept (``[evaluation] keep_days``)."""
        codes = [item.code for item in await self._host.catalogue.published()]
        return (await self.usage_store.recent(days)).only(codes).as_dict()

    async def usage_report(self) -> Dict[str, Any]:
        """:meth:`usage` for telemetry and ``status``, which go on without it: a failing
        database is named (``unavailable``) rather than failing the whole report."""
        try:
            return await self.usage()
        except (StoreError, sqlite3.Error) as err:
            _LOGGER.warning("ops: usage counts unavailable: %s", err)
            return {"unavailable": str(err)}

    async def upkeep_report(self) -> Dict[str, Any]:
        """The last self-test, the consumables and the availability (``upkeep/``); a
        failing database is named, as for :meth:`usage_report`."""
        try:
            return await UpkeepStore(self._host.store).report(time.time(), self._host.consumables())
        except (StoreError, sqlite3.Error) as err:
            _LOGGER.warning("ops: upkeep report unavailable: %s", err)
            return {"unavailable": str(err)}


def _disk(path: Path) -> Dict[str, int]:
    try:
        usage = shutil.disk_usage(str(path))
    except OSError:
        return {}
    return {"total": usage.total, "free": usage.free}
