"""The department adapter over HTTP: signed JSON requests, sealed documents back.

``POST <url>/v1/documents`` with the JSON body::

    {"item_code": "…", "region": "230103", "language": "zh_CN", "consent_id": "…",
     "format": "pdf",
     "applicant": {"id_number": "…", "name": "…"},
     "attachments": [{"material": "…", "page": 1, "content_type": "image/jpeg",
                      "data": base64}]}

(``attachments`` only when the item captures paper materials; ``format`` is the format
the item issues, ``pdf`` or ``ofd``, from the catalogue.)

**Test mode** (the item debugging checklist, ``govkioskctl check``, §6.4.2): the body
also carries ``"test": true`` and the request the header ``X-Govkiosk-Test: 1``. The
signature covers the body (:mod:`.signing` binds its SHA-256), so the signed flag is
the body's; the header only lets the platform's gateway route or count test traffic
without reading the body, and a platform refuses a request whose header and body
disagree. A platform answers a test request only for the synthetic test identity it
publishes (``[backends] test_id_number``/``test_name``, per route), refusing any other
identity with a ``4xx`` ``{"code", "message"}`` like any refusal; the answer is the
usual ``200``, but its certificate is visibly a specimen (the demo platform: 测试样张
in the title and across every page) and its ``reference`` starts with ``TEST-``. A
test issuance is no issuance: it is not counted or recorded as one. A platform refuses
a non-test request for its test identity.

``GET <health_url>`` (any URL the platform publishes; the demo platform's is
``<url>/v1/health``) answers ``2xx`` while the platform is up: :func:`health`.

and the headers of :mod:`.signing` plus ``Idempotency-Key``. The answers:

- ``200`` ``{"reference", "pages", "summary": {…}, "content_type": "application/ofd",
  "document": base64}`` — the sealed document, PDF (``application/pdf``) or OFD
  (``application/ofd``, GB/T 33190). The bytes must be what ``content_type`` says
  (:mod:`govkiosk.security.doctype`: ``%PDF-``, or a ZIP package with ``OFD.xml``),
  else the answer is refused as a protocol error. A department that predates OFD
  answers ``"pdf": base64`` without a content type: a PDF.
- ``4xx`` ``{"code", "message"}`` — the department refuses (no record, not eligible);
  ``401``/``403`` — the kiosk's signature was not accepted. Both become
  :class:`~.base.BackendRefusedError` (``message`` shown to the citizen).
- ``5xx``/``429``, a network failure or a timeout — :class:`~.base.BackendUnavailableError`.

Retries only where safe: a document request carries an idempotency key — the
request's ``idempotency_key``, else one generated per :meth:`HttpBackend.fetch_document`
call — resent unchanged on every attempt, so a retry after a lost answer returns the
certificate already issued instead of issuing a second one. The session names one key
per citizen session, so the citizen's own "retry" after a timeout is just as safe.
Refusals and unreadable answers are never retried. Every attempt has a connect and a
total timeout.

Bodies carry personal data (§8 d): they are never logged, only item, status and attempt.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any, Dict, Optional

import aiohttp
from yarl import URL

from ..security.doctype import PDF, DocumentTypeError, checked
from .base import (
    Backend,
    BackendError,
    BackendProtocolError,
    BackendRefusedError,
    BackendTimeoutError,
    BackendUnavailableError,
    DocumentRequest,
    DocumentResult,
)
from .signing import RequestSigner

_LOGGER = logging.getLogger(__name__)

DOCUMENTS_PATH = "v1/documents"
IDEMPOTENCY_KEY = "Idempotency-Key"
#: Marks a test request (the body's ``"test": true`` is the signed flag).
TEST_HEADER = "X-Govkiosk-Test"
#: A test answer's reference starts with this.
TEST_REFERENCE_PREFIX = "TEST-"
HEALTH_PATH = "v1/health"
#: A certificate is a few hundred kilobytes; anything far larger is not an answer.
MAX_RESPONSE = 16 * 1024 * 1024
#: Shown when the department does not say why it refused.
REFUSED = "部门系统未能出具该证明，请到窗口咨询办理"
UNAUTHORISED = "本机暂不能办理该事项，请联系工作人员"


class HttpBackend(Backend):
    """A department platform at ``url``, reached with signed requests."""

    def __init__(
        self,
        url: str,
        signer: RequestSigner,
        *,
        connect_timeout: float = 3.0,
        timeout: float = 20.0,
        retries: int = 2,
        retry_backoff: float = 0.5,
    ) -> None:
        self._endpoint = URL(url.rstrip("/") + "/" + DOCUMENTS_PATH)
        self._signer = signer
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._retries = retries
        self._retry_backoff = retry_backoff
        self._session: Optional[aiohttp.ClientSession] = None

    async def fetch_document(self, request: DocumentRequest) -> DocumentResult:
        document: Dict[str, Any] = {
            "item_code": request.item_code,
            "region": request.region,
            "language": request.language,
            "consent_id": request.consent_id,
            "format": request.document_format,
            "applicant": {
                "id_number": request.applicant.id_number,
                "name": request.applicant.name,
            },
        }
        if request.attachments:
            document["attachments"] = [
                {
                    "material": a.material,
                    "page": a.page,
                    "content_type": a.content_type,
                    "data": base64.b64encode(a.data).decode("ascii"),
                }
                for a in request.attachments
            ]
        if request.test:
            document["test"] = True
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        # The same on every attempt of this request (and of the caller's next request
        # for the same document when it names one).
        idempotency_key = request.idempotency_key or uuid.uuid4().hex
        delay = self._retry_backoff
        for attempt in range(self._retries + 1):
            try:
                answer = await self._post(body, idempotency_key, request.test)
            except BackendUnavailableError as err:
                if attempt == self._retries:
                    raise
                _LOGGER.warning(
                    "backends: %s item %s attempt %d failed (%s), retrying in %.1f s",
                    self._endpoint.host,
                    request.item_code,
                    attempt + 1,
                    err.code,
                    delay,
                )
                await asyncio.sleep(delay)
                delay *= 2
                continue
            result = _result(answer)
            if request.test and not result.reference.startswith(TEST_REFERENCE_PREFIX):
                raise BackendProtocolError(
                    f"{self._endpoint.host} answered a test request with a real document"
                )
            return result
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _post(self, body: bytes, idempotency_key: str, test: bool) -> Dict[str, Any]:
        headers = self._signer.headers("POST", self._endpoint.raw_path, body)
        headers["Content-Type"] = "application/json; charset=utf-8"
        headers[IDEMPOTENCY_KEY] = idempotency_key
        if test:
            headers[TEST_HEADER] = "1"
        try:
            async with self._client().post(self._endpoint, data=body, headers=headers) as reply:
                payload = await reply.content.read(MAX_RESPONSE + 1)
                status = reply.status
        except asyncio.TimeoutError as err:
            raise BackendTimeoutError(f"{self._endpoint.host} did not answer in time") from err
        except (aiohttp.ClientError, OSError) as err:
            raise BackendUnavailableError(f"{self._endpoint.host} unreachable: {err}") from err
        _LOGGER.debug("backends: %s answered %d", self._endpoint.host, status)
        return parse_reply(str(self._endpoint.host), status, payload)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def health(url: str, timeout: float) -> int:
    """``GET url``: its HTTP status when ``2xx``; :class:`BackendUnavailableError` (network,
    timeout, any other status) says why not. Nothing is sent but the request line."""
    host = URL(url).host
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout)
        ) as http, http.get(url, allow_redirects=False) as answer:
            status = answer.status
    except asyncio.TimeoutError as err:
        raise BackendTimeoutError(f"{url} did not answer within {timeout:g} s") from err
    except (aiohttp.ClientError, OSError) as err:
        raise BackendUnavailableError(f"{url} does not answer: {err}") from err
    _LOGGER.debug("backends: %s health answered %d", host, status)
    if not 200 <= status < 300:
        raise BackendUnavailableError(f"{url} answered HTTP {status}")
    return status


def parse_reply(host: str, status: int, payload: bytes) -> Dict[str, Any]:
    """A document request's answer (``status``, body as read, at most ``MAX_RESPONSE + 1``
    bytes) → the JSON object of a ``200``; anything else raises its :class:`BackendError`."""
    if len(payload) > MAX_RESPONSE:
        raise BackendProtocolError(f"{host} answered more than {MAX_RESPONSE} bytes")
    if status >= 500 or status == 429:
        raise BackendUnavailableError(f"{host} answered HTTP {status}")
    if status in (401, 403):  # whatever the body: a gateway's is often an HTML page
        _LOGGER.error("backends: %s refused this kiosk's signature", host)
        raise BackendRefusedError("unauthorised", UNAUTHORISED)
    answer = _json(payload)
    if 400 <= status < 500:
        raise _refusal(answer)
    if status != 200:
        raise BackendProtocolError(f"{host} answered HTTP {status}")
    return answer


def parse_document(answer: Dict[str, Any]) -> DocumentResult:
    """The JSON object of a ``200`` → the sealed document; :class:`BackendProtocolError`
    when it is not one."""
    return _result(answer)


def _json(payload: bytes) -> Dict[str, Any]:
    try:
        answer = json.loads(payload.decode("utf-8")) if payload else {}
    except (UnicodeDecodeError, ValueError) as err:
        raise BackendProtocolError("the answer is not JSON") from err
    if not isinstance(answer, dict):
        raise BackendProtocolError("the answer is not a JSON object")
    return answer


def _refusal(answer: Dict[str, Any]) -> BackendError:
    reason, message = answer.get("code"), answer.get("message")
    if not isinstance(reason, str) or not reason:
        return BackendProtocolError("a refusal without a code")
    if not isinstance(message, str) or not message.strip() or len(message) > 200:
        message = REFUSED
    return BackendRefusedError(reason, message)


def _result(answer: Dict[str, Any]) -> DocumentResult:
    reference, pages, summary = (
        answer.get("reference"),
        answer.get("pages"),
        answer.get("summary", {}),
    )
    encoded, content_type = answer.get("document"), answer.get("content_type", PDF)
    if encoded is None and "content_type" not in answer:
        encoded = answer.get("pdf")  # a department that predates OFD
    if not isinstance(reference, str) or not reference:
        raise BackendProtocolError("the answer has no reference")
    if not isinstance(pages, int) or isinstance(pages, bool) or not 1 <= pages <= 50:
        raise BackendProtocolError("the answer's page count is missing or implausible")
    if not isinstance(summary, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in summary.items()
    ):
        raise BackendProtocolError("the answer's summary is not a table of texts")
    if not isinstance(encoded, str):
        raise BackendProtocolError("the answer has no document")
    if not isinstance(content_type, str):
        raise BackendProtocolError("the answer's content type is not a text")
    try:
        document = base64.b64decode(encoded, validate=True)
    except ValueError as err:  # binascii.Error, or a text with characters beyond ASCII
        raise BackendProtocolError("the answer's document is not base64") from err
    try:
        content_type = checked(content_type, document)
    except DocumentTypeError as err:
        raise BackendProtocolError(f"the answer's document: {err}") from err
    return DocumentResult(
        document=document,
        reference=reference,
        pages=pages,
        summary=dict(summary),
        content_type=content_type,
    )
