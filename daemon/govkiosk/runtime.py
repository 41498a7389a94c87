"""What every subsystem is given when the daemon assembles itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .activity import Activity
from .bus import EventBus
from .config import Config
from .dbus.service import DBusService
from .items.registry import ItemRegistry
from .store import Store
from .supervisor import Supervisor


@dataclass
class Runtime:
    """The daemon's shared parts. ``config`` is replaced on a successful reload."""

    config: Config
    state_dir: Path
    bus: EventBus
    store: Store
    supervisor: Supervisor
    dbus: DBusService
    #: Work in progress that a shutdown must let finish (a print).
    activity: Activity = field(default_factory=Activity)
    #: The service items and their lifecycle (§7.1): built on the store and the bus.
    items: ItemRegistry = field(init=False)
    #: The main configuration file (``conf.d/`` beside it); ``None`` when built without one.
    config_path: Optional[Path] = None
    #: Take a new configuration as SIGHUP does; ``True`` if it is now in force.
    reload: Callable[[], bool] = lambda: False
    #: End the daemon with this exit status (ops' ``daemon.restart``: systemd restarts it).
    exit: Callable[[int], None] = lambda _status: None

    def __post_init__(self) -> None:
        self.items = ItemRegistry(self.store, self.bus)
