"""One item run end to end in test mode: the item debugging checklist (事项调试检查表,
§6.4.2) that ``govkioskctl check`` runs for every published item.

:meth:`ItemTester.run` does what a session does after identification, with the
department platform's published test identity in place of a citizen: the consent is a
test consent (``TEST-…``), the document request is a test request (:mod:`~govkiosk.backends.http`),
the answer's seal is checked by the real verifier and its pages are rendered as the
preview would be. It prints (A4 and the receipt slip) only when asked. Where the
route has no test identity but a health call, only that is asked; with neither, the
item is not tested and the result says what to ask the department for.

A test is not a citizen's session: it is refused while one runs
(:class:`~.errors.KioskBusyError`) and no session starts while it runs. The specimen
is treated as personal data all the same (§8 d): it lives in memory only, is zeroed
when the test ends however it ends, and the answer carries no document content —
only the route, the reference, the page count, the seal's issuer and the time taken.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict

from ..backends.base import Applicant, BackendError, BackendRefusedError, DocumentRequest
from ..backends.http import health
from ..backends.routing import ResolvedRoute
from ..bus import AdminAction
from ..contract.logs import sensitive_terms
from ..items.catalogue import Item
from ..printing.a4 import A4Job, A4Printed
from ..printing.errors import PreviewError, PrintError
from ..printing.masking import mask_id_number
from ..printing.preview import render_pages
from ..printing.slip import SlipFacts, slip
from ..security.seal import SealError
from ..timeouts import wait_for
from .errors import KioskBusyError, NotAcceptingError
from .flow import Services
from .manager import SessionManager
from .settings import SessionSettings
from .state import Personal
from .steps import item_region

_LOGGER = logging.getLogger(__name__)

FULL, HEALTH, NONE = "full", "health", "none"
#: What each mode exercised, as the checklist words it.
EXERCISED = {
    FULL: "fetch+seal+preview",
    HEALTH: "health only",
    NONE: "not tested",
}
#: The consent a test records, in place of a citizen's.
TEST_CONSENT_PREFIX = "TEST-"


@dataclass(frozen=True)
class ItemTestResult:
    """A test's outcome; nothing in it is personal or part of the document."""

    code: str
    mode: str  #: ``full``, ``health`` or ``none``
    passed: bool
    route: str = ""
    reference: str = ""
    pages: int = 0
    seal_verified: bool = False
    seal_issuer: str = ""
    #: The specimen was printed (A4 and receipt), as asked.
    printed: bool = False
    health_status: int = 0
    #: Where it failed: ``route``, ``fetch``, ``seal``, ``preview``, ``print_a4``,
    #: ``print_receipt`` or ``health``; "" when it passed.
    failed_at: str = ""
    error_code: str = ""
    #: Why it failed, or the department's refusal text as it gave it.
    detail: str = ""
    duration: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


class _Failed(Exception):
    def __init__(self, where: str, code: str, detail: str) -> None:
        super().__init__(detail)
        self.where, self.code, self.detail = where, code, detail


class ItemTester:
    """Runs :meth:`run` for one item at a time, never beside a citizen's session."""

    def __init__(
        self,
        manager: SessionManager,
        services: Services,
        settings: Callable[[], SessionSettings],
    ) -> None:
        self._manager = manager
        self._services = services
        self._settings = settings
        self._lock = asyncio.Lock()

    async def run(self, item: Item, print_specimen: bool = False) -> ItemTestResult:
        """Test ``item``; :class:`KioskBusyError` while a citizen's session (or another
        test) runs, :class:`NotAcceptingError` while the kiosk takes no sessions."""
        manager = self._manager
        if manager.busy or self._lock.locked():
            raise KioskBusyError(
                "a citizen's session is in progress: items are tested when the kiosk is free"
            )
        if not manager.accepting:
            raise NotAcceptingError("the kiosk is not taking sessions now (power or service)")
        async with self._lock:
            with manager.reserved():
                result = await self._run(item, print_specimen)
        self._services.bus.publish(
            AdminAction(
                "maintenance",
                "item_test",
                {
                    "item": item.code,
                    "mode": result.mode,
                    "passed": result.passed,
                    "printed": result.printed,
                    "error": result.error_code,
                },
            )
        )
        _LOGGER.info(
            "item test %s: %s %s%s in %.1f s",
            item.code,
            result.mode,
            "passed" if result.passed else "failed",
            f" at {result.failed_at} ({result.error_code})" if result.failed_at else "",
            result.duration,
        )
        return result

    async def _run(self, item: Item, print_specimen: bool) -> ItemTestResult:
        if item.kind == "webapp":  # its page is the item: ``govkioskctl check`` fetches it
            return ItemTestResult(
                item.code, NONE, False, detail="a web-app item: see govkioskctl webapp check"
            )
        loop = asyncio.get_running_loop()
        started = loop.time()
        kiosk_region = self._services.kiosk().region
        router = self._services.router()
        try:
            route = router.route_for(item.code, kiosk_region)
            applicant = route.test_applicant
            region = kiosk_region
            if applicant is not None:
                # whose platform answers the test identity (跨省通办), as for a citizen
                region = item_region(item, kiosk_region, applicant)
                if region != kiosk_region:
                    route = router.route_for(item.code, region)
                    applicant = route.test_applicant
        except BackendError as err:
            return ItemTestResult(
                item.code, NONE, False, failed_at="route", error_code=err.code, detail=str(err)
            )
        if applicant is not None:
            outcome = await self._full(item, route, applicant, region, print_specimen)
        elif route.health_url:
            outcome = await self._health(item, route)
        else:
            outcome = ItemTestResult(
                item.code,
                NONE,
                False,
                route=route.url,
                detail="the route has neither a test identity nor a health URL",
            )
        duration = round(loop.time() - started, 3)
        return ItemTestResult(**{**outcome.as_dict(), "duration": duration})

    async def _health(self, item: Item, route: ResolvedRoute) -> ItemTestResult:
        try:
            status = await health(route.health_url, self._settings().query_timeout)
        except BackendError as err:
            return ItemTestResult(
                item.code,
                HEALTH,
                False,
                route=route.url,
                failed_at="health",
                error_code=err.code,
                detail=str(err),
            )
        return ItemTestResult(item.code, HEALTH, True, route=route.url, health_status=status)

    async def _full(
        self,
        item: Item,
        route: ResolvedRoute,
        applicant: Applicant,
        region: str,
        print_specimen: bool,
    ) -> ItemTestResult:
        personal = Personal(applicant=applicant, masked_id=mask_id_number(applicant.id_number))
        # synthetic, but masked in logs all the same: no log line tells it from a citizen's
        sensitive_terms.add(applicant.name, applicant.id_number)
        facts: Dict[str, Any] = {}
        try:
            await self._specimen(item, region, personal, facts, print_specimen)
        except _Failed as failed:
            return ItemTestResult(
                item.code,
                FULL,
                False,
                route=route.url,
                failed_at=failed.where,
                error_code=failed.code,
                detail=failed.detail,
                **facts,
            )
        finally:
            job = personal.a4_job
            try:
                if job is not None and not job.printed:
                    await self._services.a4.discard(job)
            finally:
                personal.wipe()
                sensitive_terms.clear()  # no citizen's session runs beside a test
        return ItemTestResult(item.code, FULL, True, route=route.url, **facts)

    async def _specimen(
        self,
        item: Item,
        region: str,
        personal: Personal,
        facts: Dict[str, Any],
        print_specimen: bool,
    ) -> None:
        """Fetch, verify, render (and print): ``facts`` gains what the answer reports."""
        services, settings = self._services, self._settings()
        assert personal.applicant is not None
        request = DocumentRequest(
            item.code,
            region,
            personal.applicant,
            "zh_CN",
            TEST_CONSENT_PREFIX + secrets.token_hex(8),
            test=True,
        )
        try:
            backend = services.router().backend_for(item.code, region)
            result = await wait_for(backend.fetch_document(request), settings.query_timeout)
        except BackendRefusedError as err:
            raise _Failed("fetch", err.code, f"{err.message} ({err.reason})") from err
        except BackendError as err:
            raise _Failed("fetch", err.code, str(err)) from err
        except asyncio.TimeoutError as err:
            limit = f"{settings.query_timeout:g}"
            raise _Failed("fetch", "backend.timeout", f"no answer within {limit} s") from err
        personal.document = document = bytearray(result.pdf)
        facts["reference"] = result.reference
        del result  # its bytes cannot be zeroed: the last reference goes now
        try:
            report = await wait_for(
                services.verifier().verify_async(bytes(document)), settings.seal_timeout
            )
        except SealError as err:
            raise _Failed("seal", err.code, str(err)) from err
        except asyncio.TimeoutError as err:
            raise _Failed("seal", "seal.timeout", "the seal check did not finish") from err
        facts["seal_verified"], facts["seal_issuer"] = True, report.signer
        try:
            personal.previews = await wait_for(
                render_pages(bytes(document), settings.preview_dpi), settings.preview_timeout
            )
        except PreviewError as err:
            raise _Failed("preview", "preview.failed", str(err)) from err
        except asyncio.TimeoutError as err:
            raise _Failed("preview", "preview.failed", "the preview took too long") from err
        facts["pages"] = len(personal.previews)
        if print_specimen:
            await self._print(item, personal, facts)
            facts["printed"] = True

    async def _print(self, item: Item, personal: Personal, facts: Dict[str, Any]) -> None:
        services, settings = self._services, self._settings()
        assert personal.document is not None
        tag = secrets.token_hex(4)
        personal.a4_job = job = A4Job(f"TEST-{item.code}-{tag}", personal.document)
        timeout = settings.print_timeout
        async with services.activity.busy("print"):
            try:
                await wait_for(services.a4.print(job, _no_progress, timeout), timeout + 1.0)
            except PrintError as err:
                raise _Failed("print_a4", err.code, str(err)) from err
            except asyncio.TimeoutError as err:
                raise _Failed("print_a4", "printer.timeout", "the A4 print timed out") from err
        services.bus.publish(A4Printed(int(facts["pages"])))
        kiosk = services.kiosk()
        text = item.text("zh_CN")
        receipt = SlipFacts(
            template=item.printing.receipt_template,
            item_name=f"{text.name}（测试）",
            department=text.department,
            when=services.clock(),
            kiosk_id=services.kiosk_id,
            kiosk_name=kiosk.name,
            masked_id=personal.masked_id,
            reference=str(facts["reference"]),
            verify_url=settings.verify_url.format(reference=facts["reference"]),
        )
        limit = settings.receipt_timeout
        try:
            await wait_for(
                services.receipts.print(
                    slip(receipt, services.receipt_width()), f"test-{tag}", limit
                ),
                limit + 1.0,
            )
        except PrintError as err:
            raise _Failed("print_receipt", err.code, str(err)) from err
        except asyncio.TimeoutError as err:
            raise _Failed("print_receipt", "receipt.timeout", "the receipt timed out") from err


def _no_progress(_fraction: float) -> None:
    """A test's print shows no progress bar."""
