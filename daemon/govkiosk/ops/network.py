"""Whether the kiosk can reach anything, from the kernel's IPv4 route table.

UOS and Kylin ship different network managers (and some kiosks run none), but every
Linux kernel has ``/proc/net/route``: no new dependency and no netlink. The state is

    online    a default route through an interface that is up
    local     routes through an interface that is up, none of them a default one (a
              government network reached by specific routes only)
    offline   no route through an interface that is up

An interface counts as up unless ``/sys/class/net/<iface>/operstate`` says it is not
(``unknown`` is what tunnels and some drivers report while working). The loopback
never counts. The state is polled, since the route table sends no notification
without netlink; each change is a :class:`NetworkChanged` event.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List

from ..bus import Event, EventBus
from ..errors import GovkioskError
from ..supervisor import Service

_LOGGER = logging.getLogger(__name__)

ONLINE = "online"
LOCAL = "local"
OFFLINE = "offline"
UNKNOWN = "unknown"

ROUTE_TABLE = Path("/proc/net/route")
INTERFACES = Path("/sys/class/net")
POLL_INTERVAL = 5.0
#: ``include/uapi/linux/route.h``: the route is usable.
RTF_UP = 0x0001
LOOPBACK = "lo"
#: RFC 2863 operational states in which nothing passes.
NOT_UP = frozenset({"down", "lowerlayerdown", "notpresent", "dormant", "testing"})
#: Iface, Destination, Gateway, Flags, RefCnt, Use, Metric, Mask, …
_FIELDS = 8


@dataclass(frozen=True)
class Route:
    interface: str
    default: bool


@dataclass(frozen=True)
class NetworkChanged(Event):
    state: str


class NetworkError(GovkioskError):
    """The route table cannot be read."""


def parse_routes(text: str) -> List[Route]:
    """The usable routes of ``/proc/net/route`` (hexadecimal fields; the header is skipped)."""
    routes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < _FIELDS:
            continue
        try:
            destination, flags, mask = (int(fields[i], 16) for i in (1, 3, 7))
        except ValueError:  # the header line, or a line the kernel never writes
            continue
        if flags & RTF_UP:
            routes.append(Route(fields[0], destination == 0 and mask == 0))
    return routes


def network_state(routes: List[Route], is_up: Callable[[str], bool]) -> str:
    usable = [r for r in routes if r.interface != LOOPBACK and is_up(r.interface)]
    if any(r.default for r in usable):
        return ONLINE
    return LOCAL if usable else OFFLINE


class NetworkWatch(Service):
    """Reads the route table every ``interval`` seconds; publishes each change."""

    name = "network"

    def __init__(
        self,
        bus: EventBus,
        *,
        route_table: Path = ROUTE_TABLE,
        interfaces: Path = INTERFACES,
        interval: float = POLL_INTERVAL,
    ) -> None:
        self._bus = bus
        self._route_table = route_table
        self._interfaces = interfaces
        self._interval = interval
        self.state = UNKNOWN

    async def start(self) -> None:
        await self._check()

    async def serve(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._check()

    async def _check(self) -> None:
        # Read on the loop: procfs and sysfs are the kernel's memory and never wait for a
        # disk; a hand-over to a thread every few seconds cost more than the reads.
        state = self.read()
        if state != self.state:
            _LOGGER.info("network: %s", state)
            self.state = state
            self._bus.publish(NetworkChanged(state))

    def read(self) -> str:
        try:
            text = self._route_table.read_text(encoding="ascii", errors="replace")
        except OSError as err:
            raise NetworkError(f"network: cannot read {self._route_table}: {err}") from err
        return network_state(parse_routes(text), self._is_up)

    def _is_up(self, interface: str) -> bool:
        if "/" in interface or interface in (".", ".."):  # not a name the kernel gives
            return False
        try:
            operstate = (self._interfaces / interface / "operstate").read_text().strip()
        except OSError:  # gone since the table was read
            return False
        return operstate not in NOT_UP
