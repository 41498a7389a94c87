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
verifies PAdES/CMS signatures with pyHanko; :class:`Sm2PdfScheme` verifies PDF signatures
whose CMS uses China's national algorithms (SM3 digest, SM2 signature; GM/T 0010) — pyHanko
knows neither — through :mod:`govkiosk.gm` and the SM2 trust of
:class:`~.sesverify.SesVerifier`. :meth:`SealVerifier.from_settings` takes both and
chooses per document by what its signatures use (:class:`PdfSchemes`), so a PAdES
document is verified, and reported, exactly as before. OFD documents' SES seals are
verified by :class:`~.sesverify.SesVerifier` itself.

Verification is CPU work (hashing, public-key operations): call
:meth:`SealVerifier.verify_async` from the event loop, which runs it in an executor.
"""

from __future__ import annotations

import abc
import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, List, Optional, Sequence

from .errors import (
    ExpiredSealError,
    MalformedSealError,
    RevokedSealError,
    SealError,
    TamperedDocumentError,
    TrustAnchorError,
    UnreadableDocumentError,
    UnsignedDocumentError,
    UntrustedSealError,
)
from .sesverify import SesVerifier
from .settings import SealSettings

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "ExpiredSealError",
    "MalformedSealError",
    "PadesScheme",
    "RevokedSealError",
    "SealError",
    "SealReport",
    "SealVerifier",
    "SignatureScheme",
    "Sm2PdfScheme",
    "TamperedDocumentError",
    "TrustAnchorError",
    "UnreadableDocumentError",
    "UnsignedDocumentError",
    "UntrustedSealError",
]


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


class Sm2PdfScheme(SignatureScheme):
    """PDF signatures whose CMS is SM2 over SM3 (OIDs 1.2.156.10197.1.401/501/301).

    For each signature: the SM3 digest of its byte ranges must be the CMS ``messageDigest``
    and the SM2 signature over the signed attributes must verify with the signer's
    certificate; the last signature must cover the whole file; every signer must chain to
    an SM2 seal authority of ``[seal] trusted`` at its signing time (else now), with the
    revocation policy of ``[seal]``.
    """

    name = "sm2-pdf"

    def __init__(self, verifier: SesVerifier) -> None:
        self._verifier = verifier

    def verify(self, pdf: bytes) -> SealReport:
        from ..gm import certs, cms  # noqa: PLC0415

        signatures = _signatures(pdf)
        reports = []
        for signature in signatures:
            signed = _byte_ranges(pdf, signature)
            try:
                info = cms.verify_signed_data(bytes(signature.pkcs7_content), detached=signed)
            except cms.CmsError as err:
                if err.kind in ("digest", "signature"):
                    raise TamperedDocumentError(
                        "the seal's signature does not match the document"
                    ) from err
                raise MalformedSealError(f"the SM2 seal cannot be read: {err}") from err
            except SealError:
                raise
            except Exception as err:  # GmError and asn1crypto's surprises
                raise MalformedSealError("the SM2 seal cannot be read") from err
            when = info.signing_time or datetime.now(timezone.utc)
            trusted, trust, kind, _ = self._verifier.chain(
                info.signer, when, intermediates=info.certificates
            )
            reports.append((info, trusted, trust, kind))
        if not _covers_whole_file(pdf, signatures[-1]):
            raise TamperedDocumentError("the document was changed after it was sealed")
        for _, trusted, trust, kind in reports:
            if not trusted:
                if kind == "revoked":
                    raise RevokedSealError(f"the seal is revoked: {trust}")
                if kind == "expired":
                    raise ExpiredSealError(f"the seal had expired: {trust}")
                raise UntrustedSealError(f"the seal is not from a trusted authority: {trust}")
        last = reports[-1][0]
        return SealReport(
            signer=certs.name(last.signer),
            signed_at=last.signing_time,
            scheme=self.name,
            covers_whole_document=True,
        )


class PdfSchemes(SignatureScheme):
    """PAdES or SM2, chosen by the document: SM2 when any signature's CMS names SM3 or SM2."""

    name = "pdf"

    def __init__(self, pades: SignatureScheme, sm2: Sm2PdfScheme) -> None:
        self.pades = pades
        self.sm2 = sm2

    def verify(self, pdf: bytes) -> SealReport:
        return self.sm2.verify(pdf) if uses_sm2(_signatures(pdf)) else self.pades.verify(pdf)


def uses_sm2(signatures: Sequence[Any]) -> bool:
    """Whether any of pyHanko's embedded signatures is SM2/SM3."""
    from ..gm import cms, sm2  # noqa: PLC0415

    for signature in signatures:
        info = signature.signer_info
        if info["digest_algorithm"]["algorithm"].dotted == sm2.OID_SM3:
            return True
        if info["signature_algorithm"]["algorithm"].dotted in cms.SM2_SIGNATURE_OIDS:
            return True
    return False


def _byte_ranges(pdf: bytes, signature: Any) -> bytes:
    try:
        ranges = [int(v) for v in signature.byte_range]
    except (TypeError, ValueError) as err:
        raise TamperedDocumentError("the seal's byte range cannot be read") from err
    if len(ranges) != 4 or min(ranges) < 0 or ranges[0] != 0:
        raise TamperedDocumentError("the seal's byte range is not two ranges from the start")
    start1, length1, start2, length2 = ranges
    if start1 + length1 > start2 or start2 + length2 > len(pdf):
        raise TamperedDocumentError("the seal's byte range lies outside the document")
    gap = pdf[start1 + length1 : start2]
    if not (gap.startswith(b"<") and gap.endswith(b">")):
        raise TamperedDocumentError("the seal's byte range leaves out more than its signature")
    return pdf[start1 : start1 + length1] + pdf[start2 : start2 + length2]


def _covers_whole_file(pdf: bytes, signature: Any) -> bool:
    ranges = [int(v) for v in signature.byte_range]
    return ranges[2] + ranges[3] == len(pdf)


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
        return cls(
            PdfSchemes(
                PadesScheme.from_files(settings.trusted),
                Sm2PdfScheme(SesVerifier.from_settings(settings)),
            )
        )

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
