"""The interface between the flow engine and a department's system.

The flow engine builds a :class:`DocumentRequest` once the citizen has proved who they
are and consented, asks :class:`~govkiosk.backends.routing.Router` for the backend that
serves the item in the applicant's region, and awaits
:meth:`Backend.fetch_document`. The answer is a :class:`DocumentResult`: the sealed
document — PDF or OFD (GB/T 33190), with its content type, checked against the bytes
by :mod:`govkiosk.security.doctype` — still to be verified by
:mod:`govkiosk.security.seal` before it is printed (§7.2 a), and a ``summary`` of
non-personal facts for the receipt slip (§7.2 b).

Applicants, requests and results hold personal data (§8 d): they live in the session's
memory only and their ``repr`` withholds the content, so a stray log line or traceback
cannot leak it.

Errors: every failure is a :class:`BackendError` with a stable ``code`` for ops
(``backend.timeout``, ``backend.unavailable``, ``backend.refused``, ``backend.protocol``):

- :class:`BackendUnavailableError` — network, 5xx, timeout; worth trying again later.
- :class:`BackendRefusedError` — the department said no (no record, not eligible, the
  request's signature was not accepted); ``message`` is fit to show the citizen and
  ``reason`` is the department's own code.
- :class:`BackendProtocolError` — the answer could not be understood.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Dict, Tuple

from ..errors import GovkioskError
from ..security.doctype import PDF


@dataclass(frozen=True)
class Applicant:
    """Who the document is for, as read from the ID card. Personal: ``repr`` withholds it."""

    id_number: str
    name: str

    def __repr__(self) -> str:
        return "Applicant(<withheld>)"

    __str__ = __repr__


@dataclass(frozen=True)
class Attachment:
    """One captured page of a paper material, as the department takes it (JPEG or PDF).

    ``data`` is a buffer the session zeroes when it ends; ``repr`` withholds it."""

    material: str
    page: int  #: from 1
    content_type: str  #: ``image/jpeg`` or ``application/pdf``
    data: bytearray

    def __repr__(self) -> str:
        return f"Attachment({self.material!r}, page {self.page}, {self.content_type}, <withheld>)"


@dataclass(frozen=True)
class DocumentRequest:
    """One document for one applicant; ``consent_id`` names the consent the citizen gave.

    ``region`` is the six-digit division code whose platform must answer (the applicant's
    region when the item is handled across provinces, else the kiosk's).
    """

    item_code: str
    region: str
    applicant: Applicant
    language: str = "zh_CN"
    consent_id: str = ""
    #: Paper materials captured with the document camera, in the catalogue's order.
    attachments: Tuple[Attachment, ...] = ()
    #: The document format the item issues (the catalogue's ``[items.document] format``:
    #: ``pdf`` or ``ofd``); a department may answer with either, the kiosk takes both.
    document_format: str = "pdf"
    #: A test request (``govkioskctl check``): the applicant is the platform's published
    #: test identity and the answer is a specimen marked as a test (:mod:`.http`).
    test: bool = False
    #: Sent as ``Idempotency-Key`` on every attempt: a caller that may ask again for the
    #: same document (the citizen's "retry" after a timeout) passes the same key each
    #: time, so the platform replays what it issued; "" is a fresh key per call.
    idempotency_key: str = ""

    def __repr__(self) -> str:
        return (
            f"DocumentRequest(item_code={self.item_code!r}, region={self.region!r}, "
            f"applicant=<withheld>{', test' if self.test else ''})"
        )


@dataclass(frozen=True)
class DocumentResult:
    """The department's answer: a sealed document and non-personal facts for the receipt.

    ``document`` is a PDF or an OFD package, as ``content_type`` says
    (``application/pdf`` or ``application/ofd``, :mod:`govkiosk.security.doctype`).
    ``reference`` is the department's number for this issuance (the same on a retried
    request); ``summary`` holds facts such as ``证明编号`` that may appear on a receipt.
    """

    document: bytes = field(repr=False)
    reference: str
    pages: int
    summary: Dict[str, str] = field(default_factory=dict)
    content_type: str = PDF

    @property
    def pdf(self) -> bytes:
        """The document (the name from when every document was a PDF)."""
        return self.document

    def __repr__(self) -> str:
        return (
            f"DocumentResult(reference={self.reference!r}, pages={self.pages}, "
            f"{self.content_type}=<{len(self.document)} bytes withheld>)"
        )


class BackendError(GovkioskError):
    """A department backend could not deliver the document."""

    code = "backend.error"


class BackendUnavailableError(BackendError):
    """The department's system could not be reached or failed (network, 5xx)."""

    code = "backend.unavailable"


class BackendTimeoutError(BackendUnavailableError):
    """The department's system did not answer in time."""

    code = "backend.timeout"


class BackendRefusedError(BackendError):
    """The department answered no; ``message`` can be shown to the citizen as it is."""

    code = "backend.refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class BackendProtocolError(BackendError):
    """The department's answer could not be understood."""

    code = "backend.protocol"


class Backend(abc.ABC):
    """A department's system as the flow engine sees it."""

    @abc.abstractmethod
    async def fetch_document(self, request: DocumentRequest) -> DocumentResult:
        """Fetch the sealed document; raise a :class:`BackendError` on any failure."""

    async def close(self) -> None:  # noqa: B027 - optional: most backends hold nothing
        """Release connections; the router calls it on shutdown."""
