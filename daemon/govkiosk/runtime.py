"""What each bus face's ``install`` is given when the daemon assembles itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .activity import Activity
from .bus import EventBus
from .config import Config
from .dbus.service import DBusService
from .store import Store
from .supervisor import Supervisor


@dataclass
class Runtime:
    """The daemon's plumbing and its configuration; no feature lives here.

    ``config`` is replaced on a successful reload: a feature is handed a getter on it
    (``lambda: runtime.config.receipt``), never the ``Runtime`` itself.
    """

    config: Config
    state_dir: Path
    bus: EventBus
    store: Store
    supervisor: Supervisor
    dbus: DBusService
    #: Work in progress that a shutdown must let finish (a print).
    activity: Activity = field(default_factory=Activity)
    #: The main configuration file (``conf.d/`` beside it); ``None`` when built without one.
    config_path: Optional[Path] = None
    #: Take a new configuration as SIGHUP does; ``True`` if it is now in force.
    reload: Callable[[], bool] = lambda: False
    #: End the daemon with this exit status (ops' ``daemon.restart``: systemd restarts it).
    exit: Callable[[int], None] = lambda _status: None
    #: Who this kiosk is, fixed for the daemon's life (a reload cannot change it):
    #: the one place features get it from.
    kiosk_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.kiosk_id = self.config.kiosk.id
