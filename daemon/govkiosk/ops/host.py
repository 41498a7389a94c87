"""What the kiosk-side ops is handed of the daemon it operates.

Ops acts on the whole kiosk: it reads its health, changes its configuration, edits its
catalogue, restarts it. Each of those is a field here, handed over by the daemon's
wiring (``api/ops.py``), so ops depends on what it uses and not on how the daemon is
assembled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Mapping

from ..activity import Activity
from ..bus import EventBus
from ..items.registry import ItemRegistry
from ..kiosk import KioskSection
from ..store import Store
from ..supervisor import Supervisor
from ..upkeep.settings import ConsumablesSettings
from .settings import OpsSettings

#: Apply configuration values (``config.set``): the applied values and the new hash.
ApplyConfig = Callable[[Mapping[str, Any], float], Awaitable[Dict[str, Any]]]


@dataclass(frozen=True)
class Host:
    kiosk_id: str
    kiosk: Callable[[], KioskSection]
    settings: Callable[[], OpsSettings]
    bus: EventBus
    store: Store
    supervisor: Supervisor
    activity: Activity
    state_dir: Path
    #: The bus the daemon serves on: ops acts through the daemon's own D-Bus API.
    daemon_bus: str
    catalogue: ItemRegistry
    #: Where the configuration lives: paths ops may set must be inside it.
    config_dir: str
    #: A digest of the configuration in force.
    config_hash: Callable[[], str]
    apply_config: ApplyConfig
    #: End the daemon with this exit status (systemd starts it again).
    exit: Callable[[int], None]
    #: The consumables' sizes, for the upkeep report in telemetry and ``status``.
    consumables: Callable[[], ConsumablesSettings] = ConsumablesSettings
