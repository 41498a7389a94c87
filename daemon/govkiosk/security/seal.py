"""Verifying the electronic seal on a certificate before it is printed (§7.2 a).

A department's certificate is a PDF carrying an electronic seal (GB/T 33481): a visible
seal image and a signature over the document. :class:`SealVerifier` accepts a document
only when

- it carries at least one signature (else :class:`UnsignedDocumentError`),
- every signature is intact and cryptographically valid, and the last one covers the
  whole file — no byte changed and no incremental update appended after sealing (else
  :class:`TamperedDocumentError`),
- every signer certificate chains to a configured trusted seal certificate (``[seal]
  trusted``; else :class:`UntrustedSealError`).

Input that is not a readable PDF raises :class:`UnreadableDocumentError`; nothing but a
:class:`SealError` ever leaves :meth:`SealVerifier.verify`, whatever the bytes. Each error
has a stable ops ``code`` (``seal.unsigned``, ``seal.tampered``, ``seal.untrusted``,
``seal.unreadable``, ``seal.trust``).

The signature scheme is pluggable (:class:`SignatureScheme`): :class:`PadesScheme`
verifies PAdES/CMS signatures with pyHanko. China's national algorithms (SM2 signatures,
SM3 digests, the GB/T 38540 seal format) are the expected next scheme: it implements
the same :meth:`SignatureScheme.verify` and is chosen by ``[seal] scheme``.

Verification is CPU work (hashing, public-key operations): call
:meth:`SealVerifier.verify_async` from the event loop, which runs it in an executor.
"""

from __future__ import annotations

import abc
import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, List, Optional, Sequence

from ..errors import GovkioskError
from .settings import SealSettings

_LOGGER = logging.getLogger(__name__)


class SealError(GovkioskError):
    """The document's seal is not acceptable: it must not be printed."""

    code = "seal.error"


class UnreadableDocumentError(SealError):
    """The bytes are not a readable PDF."""

    code = "seal.unreadable"


class UnsignedDocumentError(SealError):
    """The document carries no electronic seal signature."""

    code = "seal.unsigned"


class TamperedDocumentError(SealError):
    """The document changed after it was sealed, or a signature does not verify."""

    code = "seal.tampered"


class UntrustedSealError(SealError):
    """The seal's signer does not chain to a trusted seal certificate."""

    code = "seal.untrusted"


class MalformedSealError(UnreadableDocumentError):
    """An electronic seal structure (SES_Seal, SES_Signature, a CMS) cannot be read."""

    code = "seal.malformed"


class ExpiredSealError(SealError):
    """The seal, or a certificate it rests on, was not valid when the document was sealed."""

    code = "seal.expired"


class RevokedSealError(UntrustedSealError):
    """A certificate the seal rests on is revoked."""

    code = "seal.revoked"


class TrustAnchorError(SealError):
    """A configured trusted seal certificate cannot be read."""

    code = "seal.trust"


@dataclass(frozen=True)
class SealReport:
    """What an accepted seal says (no personal data: the signer is the authority).

    ``covers_whole_document`` is true for every accepted document today (the policy is
    strict); it is reported so a later policy that admits long-term-validation updates
    can say when it did.
    """

    signer: str
    signed_at: Optional[datetime]
    scheme: str
    covers_whole_document: bool


class SignatureScheme(abc.ABC):
    """One way of sealing a PDF. ``verify`` raises only :class:`SealError`."""

    name: str

    @abc.abstractmethod
    def verify(self, pdf: bytes) -> SealReport:
        """Check the document's seal; blocking."""


class PadesScheme(SignatureScheme):
    """PAdES / CMS signatures (ISO 32000 ``/ETSI.CAdES.detached``, ``/adbe.pkcs7.detached``)."""

    name = "pades"

    def __init__(self, trusted: Sequence[Any]) -> None:
        """``trusted``: the seal authorities' certificates (``asn1crypto`` objects)."""
        self._trusted = list(trusted)

    @classmethod
    def from_files(cls, paths: Sequence[str]) -> PadesScheme:
        from pyhanko.keys import load_certs_from_pemder  # noqa: PLC0415 - heavy import

        try:
            certs = list(load_certs_from_pemder(paths))  # type: ignore[no-untyped-call]
        except OSError as err:
            raise TrustAnchorError(f"trusted seal certificate cannot be read: {err}") from err
        except ValueError as err:
            raise TrustAnchorError(f"trusted seal certificate is not PEM/DER: {err}") from err
        return cls(certs)

    def verify(self, pdf: bytes) -> SealReport:
        signatures = _signatures(pdf)
        statuses = [self._status(signature) for signature in signatures]
        for status in statuses:
            if not (status.intact and status.valid):
                raise TamperedDocumentError("the seal's signature does not match the document")
        from pyhanko.sign.validation.status import SignatureCoverageLevel  # noqa: PLC0415

        if statuses[-1].coverage != SignatureCoverageLevel.ENTIRE_FILE:
            raise TamperedDocumentError("the document was changed after it was sealed")
        for status in statuses:
            if not status.trusted:
                raise UntrustedSealError(
                    f"the seal of {_name(status.signing_cert)} is not from a trusted authority"
                )
        last = statuses[-1]
        return SealReport(
            signer=_name(last.signing_cert),
            signed_at=last.signer_reported_dt,
            scheme=self.name,
            covers_whole_document=True,
        )

    def _status(self, signature: Any) -> Any:
        from pyhanko.sign.validation import validate_pdf_signature  # noqa: PLC0415
        from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415

        context = ValidationContext(
            trust_roots=self._trusted, allow_fetching=False, revocation_mode="soft-fail"
        )
        try:
            # skip_diff: any update after the last signature is refused outright below.
            return validate_pdf_signature(signature, context, skip_diff=True)
        except Exception as err:  # pyHanko raises many types on a malformed signature
            raise TamperedDocumentError("the seal's signature cannot be read") from err


def _signatures(pdf: bytes) -> List[Any]:
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - heavy import

    if not pdf.startswith(b"%PDF-"):
        raise UnreadableDocumentError("the document is not a PDF")
    try:
        signatures = list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
    except Exception as err:  # a parser fed arbitrary bytes fails in arbitrary ways
        raise UnreadableDocumentError("the document cannot be read as a PDF") from err
    if not signatures:
        raise UnsignedDocumentError("the document carries no electronic seal")
    return signatures


def _name(cert: Any) -> str:
    if cert is None:
        return "unknown signer"
    subject = cert.subject.native
    return str(subject.get("common_name") or subject.get("organization_name") or "unknown")


class SealVerifier:
    """Verifies certificates with the configured scheme and trust anchors."""

    def __init__(self, scheme: SignatureScheme) -> None:
        self.scheme = scheme

    @classmethod
    def from_settings(cls, settings: SealSettings) -> SealVerifier:
        missing = [p for p in settings.trusted if not Path(p).is_file()]
        if missing:
            raise TrustAnchorError(f"trusted seal certificate missing: {', '.join(missing)}")
        return cls(PadesScheme.from_files(settings.trusted))

    def verify(self, pdf: bytes) -> SealReport:
        """Blocking; raises only :class:`SealError`. Not on the loop: use :meth:`verify_async`."""
        if _loop_running():
            # pyHanko runs its own loop inside; on ours it would fail and read as tampering.
            raise RuntimeError("SealVerifier.verify blocks: call verify_async on the event loop")
        try:
            report = self.scheme.verify(pdf)
        except SealError as err:
            _LOGGER.warning("seal: document refused (%s): %s", err.code, err)
            raise
        _LOGGER.debug("seal: accepted, sealed by %s", report.signer)
        return report

    async def verify_async(self, pdf: bytes) -> SealReport:
        """:meth:`verify` in the loop's default executor."""
        return await asyncio.get_running_loop().run_in_executor(None, self.verify, pdf)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
