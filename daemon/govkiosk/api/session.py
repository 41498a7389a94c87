"""``cn.govkiosk.Session1``: the citizen's journey, as ``docs/session-api.md`` describes it.

A thin layer: item lookups go to the published catalogue, everything else to the
:class:`~govkiosk.items.sessions.SessionManager`. Personal data crosses this boundary
only as the masked ``holder`` and the preview page the citizen is looking at.
"""

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Set, Tuple

from dbus_next import Variant
from dbus_next.service import ServiceInterface, method, signal

from ..backends.routing import Router
from ..bus import ConfigReloaded, Event
from ..contract.names import SESSION_INTERFACE, UI_BUS_NAME
from ..dbus import guarded
from ..devices.camera.events import CameraStateChanged
from ..devices.camera.hub import CameraHub
from ..evaluation.levels import reasons as evaluation_reasons
from ..evaluation.service import UsageCounter
from ..evaluation.store import UsageStore
from ..faceverify.service import FaceReadiness, FaceService
from ..items.catalogue import Item
from ..items.registry import CatalogueChanged, ItemRegistry
from ..printing.a4 import A4Printer
from ..printing.cups_printer import CupsPrinter
from ..printing.receipts import ReceiptPrinters
from ..printing.tray import OutputTray
from ..runtime import Runtime
from ..security.seal import SealVerifier
from ..session.audit import FaceAudit
from ..session.cameras import CaptureCheck, FaceCheck, capture_ready, face_ready, preview_jpeg
from ..session.errors import KioskBusyError
from ..session.flow import Services
from ..session.interrupted import LeftJobs, Marker, recover
from ..session.itemtest import ItemTester
from ..session.manager import SessionManager
from ..session.service import Rebuilt, SessionService
from ..session.settings import SessionSettings
from ..webapps.session import WebAppHost

Published = Callable[[], Awaitable[Sequence[Item]]]
#: The published item; raises ``UnknownItemError`` for any other code.
Lookup = Callable[[str], Awaitable[Item]]

_SIGNATURES = {bool: "b", float: "d", int: "u", str: "s", list: "as"}


def variants(values: Dict[str, Any]) -> Dict[str, Variant]:
    """Plain values as D-Bus variants: bool b, float d, int u, str s, list of str as."""
    return {key: Variant(_SIGNATURES[type(value)], value) for key, value in values.items()}


def presentation(item: Item) -> Dict[str, Any]:
    """What the citizen's screens show of ``item`` beyond the standard's elements, in both
    languages: ``*_en`` is empty where the catalogue has no English (the UI shows the
    Chinese). The consent notice's fields are always filled (derived when the catalogue
    leaves them out); the kiosk keeps none of the data it queries (§8 d)."""
    en = item.en
    zh_consent = item.consent_text("zh_CN")
    en_consent = item.consent_text("en")
    assert zh_consent is not None, "the Chinese notice is always derived"
    return {
        "summary": item.summary,
        "icon": item.shown_icon,
        "name_en": en.name if en is not None else "",
        "department_en": en.department if en is not None else "",
        "category_en": en.category if en is not None else "",
        "summary_en": en.summary if en is not None else "",
        "conditions_en": list(en.conditions) if en is not None else [],
        "materials_en": list(en.materials) if en is not None else [],
        "captures_en": [m.en for m in item.captures],
        "consent_data": list(zh_consent.data),
        "consent_source": zh_consent.source,
        "consent_purpose": zh_consent.purpose,
        "consent_retention": zh_consent.retention,
        "consent_data_en": list(en_consent.data) if en_consent is not None else [],
        "consent_source_en": en_consent.source if en_consent is not None else "",
        "consent_purpose_en": en_consent.purpose if en_consent is not None else "",
    }


def item_row(item: Item, availability: Tuple[bool, str]) -> Dict[str, Variant]:
    available, why = availability
    return variants(
        {
            **presentation(item),
            "code": item.code,
            "name": item.name,
            "department": item.department,
            "category": item.category,
            "applicant_type": item.applicant_type,
            "conditions": list(item.conditions),
            "materials": list(item.materials),
            "steps": list(item.steps),
            "identity": item.identity,
            "captures": [m.name for m in item.captures],
            "available": available,
            "unavailable_reason": why,
            "result_type": item.result_type,
            "a4_pages": item.printing.a4_pages,
            "receipt": item.printing.receipt,
            "regions": list(item.regions),
            "version": item.version,
            "kind": item.kind,
            "webapp_url": item.webapp.url if item.webapp is not None else "",
            "webapp_origins": list(item.webapp.origins) if item.webapp is not None else [],
        }
    )


class SessionInterface(ServiceInterface):
    def __init__(
        self,
        published: Published,
        lookup: Lookup,
        manager: SessionManager,
        usage: UsageCounter,
        tester: Optional[ItemTester] = None,
    ) -> None:
        super().__init__(SESSION_INTERFACE)
        self._published = published
        self._lookup = lookup
        self.manager = manager
        self.usage = usage
        self.tester = tester

    @method()
    @guarded
    async def ListItems(self) -> "aa{sv}":
        manager = self.manager
        return [item_row(item, manager.availability(item)) for item in await self._published()]

    @method()
    @guarded
    async def GetItem(self, code: "s") -> "a{sv}":
        item = await self._lookup(code)
        return item_row(item, self.manager.availability(item))

    @method()
    @guarded
    async def StartSession(self, item_code: "s", language: "s") -> "s":
        return await self.manager.start(await self._lookup(item_code), language)

    @method()
    @guarded
    def GetSession(self) -> "a{sv}":
        return variants(self.manager.state())

    @method()
    @guarded
    def TakeNotice(self) -> "s":
        return self.manager.take_notice()

    @method()
    @guarded
    async def Choose(self, session_id: "s", choice: "s") -> "b":
        return await self.manager.choose(session_id, choice)

    @method()
    @guarded
    def ExtendTime(self, session_id: "s") -> "d":
        return self.manager.extend(session_id)

    @method()
    @guarded
    async def Cancel(self, session_id: "s") -> "b":
        return await self.manager.cancel(session_id)

    @method()
    @guarded
    async def EndSession(self, session_id: "s", reason: "s") -> "b":
        return await self.manager.end(session_id, reason)

    @method()
    @guarded
    def GetPreview(self, session_id: "s", page: "u") -> "ay":
        return self.manager.preview(session_id, page)

    @method()
    @guarded
    async def GetCameraFrame(self, session_id: "s") -> "(ayad)":
        view = self.manager.camera_view(session_id)
        if view is None:  # polled: no picture yet (or any more) is an answer, not an error
            return [b"", []]
        image, mirrored, outline = view
        loop = asyncio.get_running_loop()
        jpeg = await loop.run_in_executor(None, preview_jpeg, image, mirrored)
        return [jpeg, list(outline)]

    @method()
    @guarded
    def Evaluate(self, session_id: "s", level: "u", reasons: "as") -> "b":
        """好差评 at the done step, once per session; reasons only with level 1 or 2."""
        return self.manager.evaluate(
            session_id, lambda code: self.usage.evaluated(code, level, reasons)
        )

    @method()
    @guarded
    def EvaluationReasons(self, language: "s") -> "a(ss)":
        return [list(pair) for pair in evaluation_reasons(language)]

    @method()
    @guarded
    async def FrequentItems(self, count: "u") -> "as":
        manager = self.manager
        codes = [i.code for i in await self._published() if manager.availability(i)[0]]
        return await self.usage.frequent(codes, count)

    @method()
    @guarded
    async def RunItemTest(self, code: "s", print_specimen: "b") -> "a{sv}":
        """The engineers' item debugging checklist (govkioskctl check): the published item
        end to end in test mode with its platform's test identity (or its health call),
        printed only when ``print_specimen``; ``KioskBusy`` while a citizen is served.
        The answer (``session.itemtest.ItemTestResult``) holds no document content."""
        item = await self._lookup(code)
        if self.tester is None:
            raise KioskBusyError("item tests are not available on this kiosk")
        return variants((await self.tester.run(item, print_specimen)).as_dict())

    @signal()
    def SessionChanged(self, state: Dict[str, Variant]) -> "a{sv}":
        return state

    @signal()
    def CatalogueChanged(self) -> None:
        pass

    def session_changed(self, state: Dict[str, Any]) -> None:
        self.SessionChanged(variants(state))


_LOGGER = logging.getLogger(__name__)


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


def install(
    runtime: Runtime,
    registry: ItemRegistry,
    cameras: CameraHub,
    webapps: Optional[WebAppHost] = None,
) -> SessionManager:
    """The department router and the seal verifier are built on first use from the
    configuration in force, so a missing key or trust anchor fails the step that needs it
    (with its ops code and alarm) rather than the daemon's start; a reload that changes
    their sections builds them again."""
    a4 = a4_printer(runtime, runtime.config.session)
    face = FaceService(lambda: runtime.config.face, runtime.bus)
    runtime.supervisor.add(face)
    runtime.supervisor.add(FaceAudit(runtime.store, runtime.bus))
    router = Rebuilt(
        lambda: runtime.config.backends,
        lambda s: Router(s, kiosk_id=runtime.kiosk_id, kiosk_region=runtime.config.kiosk.region),
    )
    services = Services(
        bus=runtime.bus,
        activity=runtime.activity,
        kiosk_id=runtime.kiosk_id,
        kiosk=lambda: runtime.config.kiosk,
        router=router,
        verifier=Rebuilt(lambda: runtime.config.seal, SealVerifier.from_settings),
        a4=a4,
        receipts=ReceiptPrinters(runtime.bus),
        receipt_width=lambda: runtime.config.receipt.paper_width_chars,
        faces=FaceCheck(face.verifier, cameras, lambda: runtime.config.face),
        captures=CaptureCheck(cameras, lambda: runtime.config.docscan),
        webapps=webapps.run if webapps is not None else None,
    )
    interface: Optional[SessionInterface] = None

    def changed(state: Dict[str, Any]) -> None:
        if interface is not None:
            interface.session_changed(state)

    manager = SessionManager(runtime.bus, services, lambda: runtime.config.session, changed)
    # Counts each SessionEnded and each evaluation (好差评), written behind.
    usage = UsageCounter(UsageStore(runtime.store), runtime.bus, lambda: runtime.config.evaluation)
    runtime.supervisor.add(usage)
    tester = ItemTester(manager, services, lambda: runtime.config.session)
    interface = SessionInterface(registry.published, registry.get_published, manager, usage, tester)
    runtime.dbus.export(interface)
    runtime.bus.subscribe(CatalogueChanged, lambda _event: interface.CatalogueChanged())
    # The items' ``available`` follows the cameras and the face service: when it changes,
    # the list changed too, and the UI reads it again.
    faces, captures = services.faces, services.captures
    ready = (face_ready(faces)[0], capture_ready(captures)[0])

    def parts_changed(_event: Event) -> None:
        nonlocal ready
        now = (face_ready(faces)[0], capture_ready(captures)[0])
        if now != ready:
            ready = now
            interface.CatalogueChanged()

    for event in (CameraStateChanged, FaceReadiness, ConfigReloaded):
        runtime.bus.subscribe(event, parts_changed)
    marker = manager.marker = Marker(runtime.state_dir)
    ending: Set[asyncio.Task[None]] = set()

    def ui_owner(owner: str) -> None:
        if not owner and manager.busy:
            task = asyncio.ensure_future(manager.ui_gone())
            ending.add(task)
            task.add_done_callback(ending.discard)

    runtime.dbus.watch_name(UI_BUS_NAME, ui_owner)

    jobs: LeftJobs = a4 if isinstance(a4, CupsPrinter) else _TrayJobs()
    runtime.supervisor.add(
        SessionService(manager, router, lambda: recover(marker, jobs, runtime.bus), marker.close)
    )
    return manager


class _TrayJobs:
    """The demo's output tray keeps no queue: nothing of a session is left to settle."""

    async def settle(self, job_id: int) -> str:
        return f"A4 job {job_id} went to the demo output tray"

    async def unfinished(self) -> List[int]:
        return []
