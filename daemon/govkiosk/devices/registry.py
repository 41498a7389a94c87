"""Every device the kiosk knows of: its role, port, state and the health of its driver.

Static devices (``[[devices.static]]``) and hot-plugged USB devices live here side by
side. An allowed device whose role has a driver in ``DRIVERS`` gets that driver
started under the supervisor; removal stops it. A role without a driver (yet) is still
recorded and shown. Every change is a :class:`DeviceChanged` on the bus, which the D-Bus
API forwards as a signal.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Set

from ..bus import Event, EventBus, ServiceHealthChanged
from ..supervisor import Service, Supervisor
from .spec import DeviceSpec, shown

_LOGGER = logging.getLogger(__name__)

#: The driver for a device, or ``None`` when its role has none.
DriverFor = Callable[[DeviceSpec], Optional[Service]]

#: The ``driver`` column for a device that has no driver to run.
NO_DRIVER = "none"
#: Device states.
STATIC = "static"
AUTHORIZED = "authorized"
SEALED = "sealed"


@dataclass(frozen=True)
class DeviceChanged(Event):
    """A device appeared, went away, or changed state (or its driver's health did)."""

    action: str  #: added, removed or changed
    id: str
    role: str
    port: str
    state: str
    driver: str


@dataclass(frozen=True)
class DeviceRecord:
    key: str  #: the USB DEVPATH, or the id of a static device
    spec: DeviceSpec
    state: str
    source: str  #: usb or static
    identity: str = ""  #: VID:PID for USB devices
    service: Optional[str] = None  #: the supervised driver's name


class DeviceRegistry:
    def __init__(self, supervisor: Supervisor, bus: EventBus, drivers: DriverFor) -> None:
        self._supervisor = supervisor
        self._bus = bus
        self._drivers = drivers
        self._records: Dict[str, DeviceRecord] = {}
        self._by_service: Dict[str, str] = {}
        self._tasks: Set[asyncio.Task[None]] = set()
        self._unsubscribe = bus.subscribe(ServiceHealthChanged, self._on_health)

    def get(self, key: str) -> Optional[DeviceRecord]:
        return self._records.get(key)

    def put(self, record: DeviceRecord, *, launch: bool = True) -> None:
        """Add or update a device; start its driver if it is usable and has one.

        ``launch=False`` is for devices declared before the supervisor starts: it
        starts them with everything else.
        """
        old = self._records.get(record.key)
        if old is not None and (old.spec, old.state) == (record.spec, record.state):
            return
        keep = old is not None and old.spec == record.spec and record.state != SEALED
        if old is not None and keep:
            record = replace(record, service=old.service)
        elif old is not None:
            self._stop_driver(old)
        if record.state != SEALED and record.service is None:
            record = replace(record, service=self._add_driver(record.spec))
            if record.service is not None and launch:
                self._supervisor.launch(record.service)
        self._records[record.key] = record
        if record.service is not None:
            self._by_service[record.service] = record.key
        self._publish("changed" if old is not None else "added", record)

    def remove(self, key: str) -> None:
        record = self._records.pop(key, None)
        if record is None:
            return
        self._stop_driver(record)
        self._publish("removed", record)

    def rows(self) -> List[Dict[str, str]]:
        """One row per device, ordered by id: what ``govkioskctl devices`` prints."""
        return [
            {
                "id": r.spec.id,
                "role": r.spec.role,
                "port": shown(r.spec.port),
                "state": r.state,
                "driver": self._driver_health(r),
                "source": r.source,
                "identity": r.identity,
            }
            for r in sorted(self._records.values(), key=lambda r: r.spec.id)
        ]

    async def close(self) -> None:
        self._unsubscribe()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def _add_driver(self, spec: DeviceSpec) -> Optional[str]:
        try:
            service = self._drivers(spec)
            if service is None:
                return None
            self._supervisor.add(service)
        except Exception:
            _LOGGER.exception("%s: the %s driver cannot be created", spec.id, spec.role)
            return None
        return service.name

    def _stop_driver(self, record: DeviceRecord) -> None:
        if record.service is None:
            return
        self._by_service.pop(record.service, None)
        task = asyncio.ensure_future(self._supervisor.remove(record.service))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _driver_health(self, record: DeviceRecord) -> str:
        if record.service is None:
            return NO_DRIVER if record.state != SEALED else ""
        health = [h for h in self._supervisor.health() if h.name == record.service]
        if not health:
            return "stopped"
        detail = f" ({health[0].detail})" if health[0].detail else ""
        return health[0].state.value + detail

    def _on_health(self, event: ServiceHealthChanged) -> None:
        key = self._by_service.get(event.service)
        if key is not None and key in self._records:
            self._publish("changed", self._records[key])

    def _publish(self, action: str, record: DeviceRecord) -> None:
        spec = record.spec
        port = shown(spec.port)
        _LOGGER.info("%s: %s (%s, %s)", spec.id, action, record.state, port)
        self._bus.publish(
            DeviceChanged(
                action, spec.id, spec.role, port, record.state, self._driver_health(record)
            )
        )
