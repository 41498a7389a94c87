"""The step types an item's flow is composed of (the catalogue's ``steps``).

Each step is an async function of the :class:`~.flow.StepContext`. What a step learns
about the citizen goes into ``session.personal`` and nowhere else. Steps are written
so that running one again after a failure (``retry``) repeats no side effect: the
query keeps its answer, the A4 print keeps its job (:mod:`govkiosk.printing.cups_printer`).

The camera steps live beside this module: ``face_verify`` (:mod:`.face`) and
``capture_materials`` (:mod:`.capture`).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Dict, List, Tuple

from ..backends.base import Applicant, BackendError, BackendRefusedError, DocumentRequest
from ..bus import Alarm, Severity
from ..contract.logs import sensitive_terms
from ..devices.idcard.cardtext import ForeignResidentIdentity, HolderIdentity, Identity
from ..devices.idcard.events import IdentityRead
from ..items.catalogue import Item
from ..printing import ofdpages
from ..printing.a4 import A4Job, A4Printed
from ..printing.errors import PreviewError, PrintError
from ..printing.masking import mask_id_number, mask_name
from ..printing.preview import render_pages
from ..printing.slip import SlipFacts, slip
from ..security.doctype import OFD, DocumentTypeError, checked
from ..security.seal import SealError
from .capture import capture_materials
from .errors import Declined, StepFailed
from .face import face_verify
from .flow import Step, StepContext


def applicant_of(identity: Identity) -> Applicant:
    if isinstance(identity, HolderIdentity):
        return Applicant(identity.id_number, identity.name)
    if isinstance(identity, ForeignResidentIdentity):
        return Applicant(identity.card_number, identity.chinese_name or identity.english_name)
    raise StepFailed("identity.unsupported_card", type(identity).__name__)


def item_region(item: Item, kiosk: str, applicant: Applicant) -> str:
    """Whose platform answers: the applicant's home region for a cross-province item
    that serves it (跨省通办), else the kiosk's."""
    home = applicant.id_number[:6]
    served = item.cross_province and home.isdigit() and home[:2] in item.provinces
    return home if served and home[:2] != kiosk[:2] else kiosk


def remember(ctx: StepContext, identity: Identity) -> None:
    """Keep the identity for the session; its words join the log guard's terms."""
    applicant = applicant_of(identity)
    personal = ctx.session.personal
    personal.identity, personal.applicant = identity, applicant
    personal.masked_id = mask_id_number(applicant.id_number)
    address = identity.address if isinstance(identity, HolderIdentity) else ""
    sensitive_terms.add(applicant.name, applicant.id_number, address)
    ctx.session.holder = f"{mask_name(applicant.name)} {personal.masked_id}"


class Flow:
    """The steps of one item, bound to it (its timeouts, its print spec)."""

    def __init__(self, item: Item) -> None:
        self.item = item

    def limit(self, step: str, default: float) -> float:
        return self.item.timeouts.get(step) or default

    def steps(self) -> List[Tuple[str, Step]]:
        """The item's steps with their names, in its order; ``done`` is the engine's."""
        table: Dict[str, Step] = {
            "identity": self.identity,
            "face_verify": self.face_verify,
            "consent": self.consent,
            "capture_materials": self.capture_materials,
            "query": self.query,
            "preview": self.preview,
            "verify_seal": self.verify_seal,
            "print_a4": self.print_a4,
            "print_receipt": self.print_receipt,
        }
        if self.item.kind == "webapp":
            return [("webapp", self.webapp)]
        return [(name, table[name]) for name in self.item.steps if name != "done"]

    async def identity(self, ctx: StepContext) -> None:
        personal = ctx.session.personal
        if personal.identity is None:
            read: asyncio.Future[Identity] = asyncio.get_running_loop().create_future()

            def on_read(event: IdentityRead) -> None:
                if not read.done():
                    read.set_result(event.identity)

            unsubscribe = ctx.services.bus.subscribe(IdentityRead, on_read, personal=True)
            try:
                timeout = self.limit("identity", ctx.settings.identity_timeout)
                await ctx.ask(ctx.text("identity.insert"), ("cancel",), timeout, until=read)
            finally:
                unsubscribe()
                read.cancel()
            remember(ctx, read.result())
        timeout = self.limit("identity", ctx.settings.identity_timeout)
        if await ctx.ask(ctx.text("identity.confirm"), ("confirm", "cancel"), timeout) != "confirm":
            raise Declined("identity not confirmed")

    async def webapp(self, ctx: StepContext) -> None:
        """The item's page in the kiosk browser until it ends (docs/webapps.md)."""
        if ctx.services.webapps is None:
            raise StepFailed("webapp.unavailable", "web apps are not set up on this kiosk")
        await ctx.services.webapps(ctx, self.item)

    async def face_verify(self, ctx: StepContext) -> None:
        limit = self.item.timeouts.get("face_verify")
        await face_verify(self.item.code, ctx, ctx.services.faces, limit)

    async def capture_materials(self, ctx: StepContext) -> None:
        limit = self.limit("capture_materials", ctx.settings.capture_timeout)
        await capture_materials(ctx, ctx.services.captures, self.item.captures, limit)

    async def consent(self, ctx: StepContext) -> None:
        timeout = self.limit("consent", ctx.settings.consent_timeout)
        if await ctx.ask(ctx.text("consent"), ("agree", "disagree"), timeout) != "agree":
            raise Declined("consent refused")
        ctx.session.consent_id = secrets.token_hex(8)

    def region(self, ctx: StepContext, applicant: Applicant) -> str:
        return item_region(self.item, ctx.services.kiosk().region, applicant)

    async def query(self, ctx: StepContext) -> None:
        session, personal = ctx.session, ctx.session.personal
        if personal.document is not None:
            return
        applicant = personal.applicant
        assert applicant is not None, "the identity step runs first"
        request = DocumentRequest(
            self.item.code,
            self.region(ctx, applicant),
            applicant,
            session.language,
            session.consent_id,
            tuple(personal.scans),
            self.item.document.format,
            # One key for the session: the citizen's retry after a timeout gets the
            # certificate the department may have issued meanwhile, not a second one.
            idempotency_key=hashlib.sha256(f"query:{session.id}".encode()).hexdigest()[:32],
        )
        try:
            backend = ctx.services.router().backend_for(self.item.code, request.region)
            result = await ctx.work(
                "query",
                backend.fetch_document(request),
                self.limit("query", ctx.settings.query_timeout),
                "backend.timeout",
            )
        except BackendRefusedError as err:
            raise StepFailed(err.code, err.reason, message=err.message) from err
        except BackendError as err:
            raise StepFailed(err.code, str(err)) from err
        try:  # what the bytes are decides how they are shown and printed, whatever the backend
            kind = checked(result.content_type, result.document)
        except DocumentTypeError as err:
            raise StepFailed("backend.protocol", str(err)) from err
        personal.document = bytearray(result.document)
        personal.document_type = kind
        session.reference = result.reference
        session.pages = result.pages

    async def preview(self, ctx: StepContext) -> None:
        personal = ctx.session.personal
        assert personal.document is not None, "the query step runs first"
        if not personal.previews:
            # OFD pages render in an executor, PDF pages in poppler's children.
            render = ofdpages.render_pages if personal.document_type == OFD else render_pages
            try:
                personal.previews = await ctx.work(
                    "preview.render",
                    render(bytes(personal.document), ctx.settings.preview_dpi),
                    self.limit("preview", ctx.settings.preview_timeout),
                    "preview.failed",
                )
            except PreviewError as err:
                raise StepFailed("preview.failed", str(err)) from err
            ctx.session.pages = len(personal.previews)
        if personal.document_type == OFD and personal.print_render is None:
            # The print PDF renders while the citizen reads: "print" then sends it at once.
            document = bytes(personal.document)
            personal.print_render = ofdpages.PrintRender(document, ctx.settings.ofd_print_dpi)
        timeout = self.limit("preview", ctx.settings.preview_timeout)
        if await ctx.ask(ctx.text("preview"), ("print", "cancel"), timeout) != "print":
            raise Declined("not printed")

    async def verify_seal(self, ctx: StepContext) -> None:
        document = ctx.session.personal.document
        assert document is not None, "the query step runs first"
        verifier = ctx.services.verifier
        try:
            report = await ctx.work(
                "verify_seal",
                verifier().verify_async(bytes(document)),
                self.limit("verify_seal", ctx.settings.seal_timeout),
                "seal.timeout",
            )
        except SealError as err:
            ctx.services.bus.publish(
                Alarm("seal", err.code, Severity.CRITICAL, f"item {self.item.code}: {err}")
            )
            raise StepFailed(err.code, str(err)) from err
        ctx.session.seal_verified, ctx.session.seal_issuer = True, report.issuer

    async def print_a4(self, ctx: StepContext) -> None:
        session, personal = ctx.session, ctx.session.personal
        assert personal.document is not None, "the query step runs first"
        timeout = self.limit("print_a4", ctx.settings.print_timeout)
        if personal.a4_job is None:
            printed = personal.document
            if personal.document_type == OFD:  # CUPS gets a PDF of the pages at print resolution
                if personal.print_render is None:  # no preview step: render now
                    document = bytes(personal.document)
                    personal.print_render = ofdpages.PrintRender(
                        document, ctx.settings.ofd_print_dpi
                    )
                try:
                    printed = await ctx.work(
                        "print_a4",  # the prompt the citizen sees while it prints
                        personal.print_render.result(timeout),
                        timeout + 1.0,  # the renderer's own limit comes first
                        "printer.timeout",
                    )
                except PrintError as err:
                    raise StepFailed(err.code, str(err)) from err
            personal.a4_job = A4Job(
                f"{self.item.code}-{session.id[:8]}", printed, recorded=lambda _: ctx.recorded()
            )
        already = personal.a4_job.printed  # a retry after the print: no paper used again
        async with ctx.services.activity.busy("print"):
            try:
                await ctx.work(
                    "print_a4",
                    ctx.services.a4.print(personal.a4_job, ctx.progress, timeout),
                    timeout + ctx.settings.seal_timeout,  # the printer's own limit comes first
                    "printer.timeout",
                    cancellable=False,  # paper is moving: the job finishes or fails
                )
            except PrintError as err:
                raise StepFailed(err.code, str(err)) from err
        # For the tray's prediction (upkeep/): a count, nothing more.
        if session.pages > 0 and not already:
            ctx.services.bus.publish(A4Printed(session.pages))

    async def print_receipt(self, ctx: StepContext) -> None:
        session, services = ctx.session, ctx.services
        kiosk = services.kiosk()
        text = self.item.text("zh_CN")
        facts = SlipFacts(
            template=self.item.printing.receipt_template,
            item_name=text.name,
            department=text.department,
            when=services.clock(),
            kiosk_id=services.kiosk_id,
            kiosk_name=kiosk.name,
            masked_id=session.personal.masked_id,
            reference=session.reference,
            verify_url=ctx.settings.verify_url.format(reference=session.reference),
        )
        session.receipt_attempts += 1
        job_id = f"slip-{session.id[:8]}-{session.receipt_attempts}"
        timeout = self.limit("print_receipt", ctx.settings.receipt_timeout)
        try:
            await ctx.work(
                "print_receipt",
                services.receipts.print(slip(facts, services.receipt_width()), job_id, timeout),
                timeout + 1.0,  # the wait for the outcome has its own limit
                "receipt.timeout",
                cancellable=False,
            )
        except PrintError as err:
            raise StepFailed(err.code, str(err)) from err
        session.receipt_printed = True
