"""What every subsystem is given when the daemon assembles itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .activity import Activity
from .bus import EventBus
from .config import Config
from .dbus.service import DBusService
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
