"""How the citizen session joins the daemon: ``cn.govkiosk.Session1`` and what it drives.

The department router and the seal verifier are built on first use from the
configuration in force, so a missing key or trust anchor fails the step that needs it
(with its ops code and alarm) rather than the daemon's start; a reload that changes
their sections builds them again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Dict, Generic, Optional, Tuple, TypeVar

from ..backends.routing import Router
from ..backends.settings import BackendsSettings
from ..dbus.session import SessionInterface
from ..printing.a4 import A4Printer
from ..printing.cups_printer import CupsPrinter
from ..printing.receipts import ReceiptPrinters
from ..printing.tray import OutputTray
from ..runtime import Runtime
from ..security.seal import SealVerifier
from ..supervisor import Service
from .flow import Services
from .registry import CatalogueChanged
from .session_settings import SessionSettings
from .sessions import SessionManager

_LOGGER = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class Rebuilt(Generic[K, V]):
    """``build(key())`` on first use, built again only when the key (a section) changes."""

    def __init__(self, key: Callable[[], K], build: Callable[[K], V]) -> None:
        self._key = key
        self._build = build
        self.built: Optional[Tuple[K, V]] = None

    def __call__(self) -> V:
        current = self._key()
        if self.built is None or self.built[0] != current:
            self.built = (current, self._build(current))
        return self.built[1]


def a4_printer(runtime: Runtime, settings: SessionSettings) -> A4Printer:
    if settings.demo_output_dir:
        _LOGGER.warning("printing: A4 documents go to %s (demo only)", settings.demo_output_dir)
        return OutputTray(Path(settings.demo_output_dir))
    return CupsPrinter(
        runtime.bus,
        settings.cups_queue,
        settings.cups_server,
        poll_interval=settings.print_poll_interval,
    )


class SessionService(Service):
    """Ends a running session (wiping it) and closes backend connections on stop."""

    name = "session"

    def __init__(self, manager: SessionManager, router: Rebuilt[BackendsSettings, Router]) -> None:
        self._manager = manager
        self._router = router

    async def start(self) -> None:
        """Nothing to open: sessions start on request."""

    async def stop(self) -> None:
        await self._manager.end_current()
        if self._router.built is not None:
            await self._router.built[1].close()


def install(runtime: Runtime) -> None:
    config = runtime.config
    kiosk = config.kiosk
    a4 = a4_printer(runtime, config.session)
    router = Rebuilt(
        lambda: runtime.config.backends,
        lambda s: Router(s, kiosk_id=kiosk.id, kiosk_region=kiosk.region),
    )
    services = Services(
        bus=runtime.bus,
        activity=runtime.activity,
        kiosk=lambda: runtime.config.kiosk,
        router=router,
        verifier=Rebuilt(lambda: runtime.config.seal, SealVerifier.from_settings),
        a4=a4,
        receipts=ReceiptPrinters(runtime.bus),
        receipt_width=lambda: runtime.config.receipt.paper_width_chars,
    )
    interface: Optional[SessionInterface] = None

    def changed(state: Dict[str, Any]) -> None:
        if interface is not None:
            interface.session_changed(state)

    manager = SessionManager(runtime.bus, services, lambda: runtime.config.session, changed)
    interface = SessionInterface(runtime.items.published, runtime.items.get_published, manager)
    runtime.dbus.export(interface)
    runtime.bus.subscribe(CatalogueChanged, lambda _event: interface.CatalogueChanged())
    runtime.supervisor.add(SessionService(manager, router))
