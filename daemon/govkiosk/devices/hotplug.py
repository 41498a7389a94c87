"""udev hotplug on the asyncio loop: a pyudev monitor read through ``add_reader``.

The handler sees every device in a parent-first order. Events can arrive child first
(a hub announced after the devices behind it): such a child is held until its parent
has been seen, instead of being judged against a parent nobody knows yet. Held children
are also released by the next full enumeration (:meth:`Hotplug.enumerate`), which the
owner runs at start and on a timer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Dict, List, Optional, Set

import pyudev

from ..errors import GovkioskError

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[str, pyudev.Device], None]
#: The netlink receive buffer: a storm of uevents must not overflow it (USBGuard uses 1 MiB).
RECEIVE_BUFFER = 1 << 20


class HotplugError(GovkioskError):
    """The udev monitor cannot be opened."""


def _depth(device: pyudev.Device) -> int:
    return str(device.device_path).count("/")


class Hotplug:
    """Delivers ``(action, device)`` for one subsystem to ``handler``, parents first."""

    def __init__(self, context: pyudev.Context, handler: Handler, subsystem: str = "usb") -> None:
        self._context = context
        self._handler = handler
        self._subsystem = subsystem
        self._monitor: Optional[pyudev.Monitor] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._known: Set[str] = set()
        self._held: Dict[str, List[pyudev.Device]] = {}

    def start(self) -> None:
        try:
            monitor = pyudev.Monitor.from_netlink(self._context)
            monitor.filter_by(self._subsystem)
            try:
                monitor.set_receive_buffer_size(RECEIVE_BUFFER)
            except OSError as err:  # needs CAP_NET_ADMIN; the default buffer still works
                _LOGGER.debug("udev: keeping the default receive buffer: %s", err)
            monitor.start()
        except OSError as err:
            raise HotplugError(f"udev: cannot open the monitor: {err}") from err
        self._monitor = monitor
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(monitor.fileno(), self._readable)

    def stop(self) -> None:
        if self._monitor is not None and self._loop is not None:
            self._loop.remove_reader(self._monitor.fileno())
        self._monitor = None

    def held(self) -> int:
        """How many children wait for their parent."""
        return sum(len(v) for v in self._held.values())

    def enumerate(self) -> None:
        """Deliver every present device, parents first (``action`` is ``present``)."""
        devices = sorted(self._context.list_devices(subsystem=self._subsystem), key=_depth)
        for device in devices:
            self._deliver("present", device)

    def dispatch(self, action: str, device: pyudev.Device) -> None:
        """Deliver one event, holding it if its parent has not been seen yet."""
        if action == "remove":
            self._forget(str(device.device_path))
            self._handler(action, device)
            return
        parent = self._unseen_parent(device)
        if parent is not None:
            _LOGGER.debug("%s: held until %s is known", device.sys_name, parent)
            self._held.setdefault(parent, []).append(device)
            return
        self._deliver(action, device)

    def _readable(self) -> None:
        assert self._monitor is not None
        while True:
            device = self._monitor.poll(timeout=0)
            if device is None:
                return
            self.dispatch(device.action or "change", device)

    def _unseen_parent(self, device: pyudev.Device) -> Optional[str]:
        parent = device.parent
        if parent is None or parent.subsystem != self._subsystem:
            return None
        path = str(parent.device_path)
        return None if path in self._known else path

    def _deliver(self, action: str, device: pyudev.Device) -> None:
        path = str(device.device_path)
        self._known.add(path)
        self._handler(action, device)
        for child in self._held.pop(path, []):
            self._deliver("add", child)

    def _forget(self, path: str) -> None:
        self._known.discard(path)
        self._held.pop(path, None)
        prefix = path + "/"
        self._known.difference_update([p for p in self._known if p.startswith(prefix)])
