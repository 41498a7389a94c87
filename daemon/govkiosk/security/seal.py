"""Verifying the electronic seal on a certificate before it is printed (§7.2 a).

A department's certificate is a PDF or an OFD carrying an electronic seal (GB/T 33481):
a visible seal image and a signature over the document. One verifier serves every kind
and chooses by content (:meth:`SealVerifier.scheme_for`):

- a PDF whose signatures are CMS with RSA/ECDSA — PAdES (:class:`PadesScheme`, pyHanko);
- a PDF whose CMS is SM2/SM3 (OIDs 1.2.156.10197.1.301, .501, .401) — ``sm2-pdf``
  (:class:`Sm2PdfScheme`: the SM3 digest of the byte ranges, the SM2 signature, the SM2
  chain of :class:`~.sesverify.SesVerifier`);
- an OFD (GB/T 33190) with SES electronic seals (GM/T 0031 v1, GB/T 38540 v4) —
  ``ofd-ses`` (:mod:`.ofdseal`).

``[seal] formats`` says which of the three the kiosk accepts (all by default); a document
of another is refused as untrusted. One policy for all: :class:`SealVerifier` accepts a
document only when

- it carries at least one signature (else :class:`UnsignedDocumentError`),
- every signature is intact and cryptographically valid, and the last one covers the
  whole file — no byte changed and no incremental update appended after sealing (else
  :class:`TamperedDocumentError`),
- every signer certificate chains to a configured trusted seal certificate (``[seal]
  trusted``; else :class:`UntrustedSealError`).

Input that is not a readable PDF raises :class:`UnreadableDocumentError`; nothing but a
:class:`SealError` ever leaves :meth:`SealVerifier.verify`, whatever the bytes. Each error
has a stable ops ``code`` (``seal.unsigned``, ``seal.tampered``, ``seal.untrusted``,
``seal.expired``, ``seal.revoked``, ``seal.unreadable``, ``seal.malformed``,
``seal.trust``; :mod:`.errors`).

Each scheme (:class:`SignatureScheme`) also *examines* a document signature by
signature without refusing it (:meth:`SealVerifier.examine`, for ``govkioskctl seal
verify``): format, signer, seal name and id, maker, validity, digest check, trust, time
stamp, and the refusal each would cause. The :class:`SealReport` of an accepted document
names its format, signer and seal, so the preview's 电子印章已核验 line can show the
seal's issuer (:attr:`SealReport.issuer`) for every kind.

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
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..errors import GovkioskError
from .doctype import OFD, PDF, sniff
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
from .settings import SEAL_FORMATS, SealSettings

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "Examination",
    "ExpiredSealError",
    "MalformedSealError",
    "PadesScheme",
    "RevokedSealError",
    "SealError",
    "SealReport",
    "SealVerifier",
    "SignatureFinding",
    "SignatureScheme",
    "Sm2PdfScheme",
    "TamperedDocumentError",
    "TrustAnchorError",
    "UnreadableDocumentError",
    "UnsignedDocumentError",
    "UntrustedSealError",
]


#: The signature formats a kiosk can accept (``[seal] formats``).
PADES, SM2_PDF, OFD_SES = SEAL_FORMATS
FORMATS = SEAL_FORMATS


@dataclass(frozen=True)
class SignatureFinding:
    """One signature in a document, as examined (no personal data: signer and seal are
    the authority's). ``code``/``problem`` name the refusal it causes, empty when it
    passes. ``digest_ok``: the signed data still matches the document (for OFD, every
    protected file too); ``signature_ok``: the signature (and the seal maker's) verify."""

    format: str
    signer: str
    digest_ok: bool
    signature_ok: bool
    trusted: bool
    seal_name: str = ""
    seal_id: str = ""
    seal_format: str = ""
    maker: str = ""
    valid_from: Optional[datetime] = None
    valid_to: Optional[datetime] = None
    signed_at: Optional[datetime] = None
    timestamp: str = "none"
    code: str = ""
    problem: str = ""
    #: What revocation checking found or could not find (OCSP answers, soft-fail reasons).
    notes: Tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.code


@dataclass(frozen=True)
class SealReport:
    """What an accepted seal says (no personal data: the signer is the authority).

    ``covers_whole_document`` is true for every accepted document today (the policy is
    strict); it is reported so a later policy that admits long-term-validation updates
    can say when it did. ``scheme`` is the format (:data:`FORMATS`); ``seal_name`` the
    SES seal's name (empty for PAdES, whose signer certificate names the seal).
    """

    signer: str
    signed_at: Optional[datetime]
    scheme: str
    covers_whole_document: bool
    seal_name: str = ""
    document_type: str = PDF
    signatures: Tuple[SignatureFinding, ...] = ()

    @property
    def issuer(self) -> str:
        """Who sealed, as the preview shows it: the seal's name, else the signer's."""
        return self.seal_name or self.signer


class SignatureScheme(abc.ABC):
    """One way of sealing a document. ``verify`` raises only :class:`SealError`."""

    name: str

    @abc.abstractmethod
    def verify(self, pdf: bytes) -> SealReport:
        """Check the document's seal; blocking."""

    def examine(self, document: bytes) -> List[SignatureFinding]:
        """Each signature with what it says and what fails; raises only for a document
        that cannot be read or carries no signature. The default reports the outcome of
        :meth:`verify` as one signature."""
        try:
            report = self.verify(document)
        except (UnreadableDocumentError, UnsignedDocumentError):
            raise
        except SealError as err:
            return [
                SignatureFinding(
                    self.name, "", False, False, False, code=err.code, problem=str(err)
                )
            ]
        if report.signatures:
            return list(report.signatures)
        return [
            SignatureFinding(self.name, report.signer, True, True, True, signed_at=report.signed_at)
        ]


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
            signatures=tuple(self._report(status, status is last) for status in statuses),
        )

    def examine(self, document: bytes) -> List[SignatureFinding]:
        reports = []
        signatures = _signatures(document)
        for n, signature in enumerate(signatures):
            try:
                status = self._status(signature)
            except TamperedDocumentError as err:
                reports.append(
                    SignatureFinding(
                        self.name, "", False, False, False, code=err.code, problem=str(err)
                    )
                )
                continue
            reports.append(self._report(status, n == len(signatures) - 1))
        return reports

    def _report(self, status: Any, last: bool) -> SignatureFinding:
        from pyhanko.sign.validation.status import SignatureCoverageLevel  # noqa: PLC0415

        cert = status.signing_cert
        code, problem = "", ""
        if not (status.intact and status.valid):
            code, problem = TamperedDocumentError.code, "the signature does not match"
        elif last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            code, problem = TamperedDocumentError.code, "the document changed after sealing"
        elif not status.trusted:
            code, problem = UntrustedSealError.code, "not from a trusted authority"
        stamp = getattr(status, "timestamp_validity", None)
        return SignatureFinding(
            format=self.name,
            signer=_name(cert),
            digest_ok=bool(status.intact),
            signature_ok=bool(status.valid),
            trusted=bool(status.trusted),
            maker=_issuer(cert),
            valid_from=cert.not_valid_before if cert is not None else None,
            valid_to=cert.not_valid_after if cert is not None else None,
            signed_at=status.signer_reported_dt,
            timestamp="none" if stamp is None else f"{stamp.timestamp:%Y-%m-%d %H:%M:%S %Z}",
            code=code,
            problem=problem,
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


def _issuer(cert: Any) -> str:
    if cert is None:
        return ""
    issuer = cert.issuer.native
    return str(issuer.get("common_name") or issuer.get("organization_name") or "unknown")


def is_sm2_pdf(pdf: bytes) -> bool:
    """Whether the PDF's signatures are SM2/SM3 (:func:`uses_sm2`). A PDF that cannot be
    read, or has no signature, is not: the PAdES scheme then reports it unreadable or
    unsigned."""
    try:
        return uses_sm2(_signatures(pdf))
    except Exception:  # noqa: BLE001 - any unreadable PDF is the PAdES scheme's to report
        return False


#: Builds a scheme from the trust anchors' paths (the SM2 ones and the others apart) and
#: the settings; registered by format so the national-algorithm schemes live in their
#: own modules (:func:`register`; the package imports them, see ``__init__``).
SchemeFactory = Callable[[Sequence[str], SealSettings], SignatureScheme]
_FACTORIES: Dict[str, SchemeFactory] = {}


def register(name: str, factory: SchemeFactory) -> None:
    """Make format ``name`` buildable by :meth:`SealVerifier.from_settings`."""
    _FACTORIES[name] = factory


@dataclass(frozen=True)
class Examination:
    """A document examined signature by signature (:meth:`SealVerifier.examine`)."""

    document_type: str
    scheme: str
    signatures: Tuple[SignatureFinding, ...]
    #: The verdict under the kiosk's policy: ``None`` accepted, else the refusal.
    refusal: Optional[SealError]


class SealVerifier:
    """Verifies certificates, PDF or OFD, with the scheme their content calls for."""

    def __init__(
        self,
        schemes: Union[SignatureScheme, Sequence[SignatureScheme]],
        formats: Sequence[str] = FORMATS,
    ) -> None:
        chosen = [schemes] if isinstance(schemes, SignatureScheme) else list(schemes)
        self.schemes: Dict[str, SignatureScheme] = {s.name: s for s in chosen}
        self.formats = tuple(formats)

    @property
    def scheme(self) -> SignatureScheme:
        """The PAdES scheme (the one scheme of a kiosk before SM2 and OFD)."""
        return self.schemes.get(PADES) or next(iter(self.schemes.values()))

    @classmethod
    def from_settings(cls, settings: SealSettings) -> SealVerifier:
        missing = [p for p in settings.trusted if not Path(p).is_file()]
        if missing:
            raise TrustAnchorError(f"trusted seal certificate missing: {', '.join(missing)}")
        sm2_roots, others = _split_anchors(settings.trusted)
        schemes: List[SignatureScheme] = [PadesScheme.from_files(others)]
        if SM2_PDF in settings.formats:
            schemes.append(Sm2PdfScheme(SesVerifier.from_settings(settings)))
        for name in settings.formats:
            factory = _FACTORIES.get(name)
            if factory is not None:
                schemes.append(factory(sm2_roots, settings))
        return cls(schemes, settings.formats)

    def scheme_for(self, document: bytes) -> str:
        """The format the document's content calls for; :class:`UnreadableDocumentError`
        for bytes that are neither PDF nor OFD."""
        kind = sniff(document)
        if kind == OFD:
            return OFD_SES
        if kind == PDF:
            return SM2_PDF if is_sm2_pdf(document) else PADES
        raise UnreadableDocumentError("the document is neither a PDF nor an OFD")

    def _scheme(self, document: bytes) -> SignatureScheme:
        name = self.scheme_for(document)
        scheme = self.schemes.get(name)
        if name not in self.formats or scheme is None:
            raise UntrustedSealError(f"{name} seals are not accepted here ([seal] formats)")
        return scheme

    def verify(self, pdf: bytes) -> SealReport:
        """Blocking; raises only :class:`SealError`. Not on the loop: use :meth:`verify_async`."""
        if _loop_running():
            # pyHanko runs its own loop inside; on ours it would fail and read as tampering.
            raise RuntimeError("SealVerifier.verify blocks: call verify_async on the event loop")
        try:
            report = self._scheme(pdf).verify(pdf)
        except SealError as err:
            _LOGGER.warning("seal: document refused (%s): %s", err.code, err)
            raise
        _LOGGER.debug("seal: accepted, %s sealed by %s", report.scheme, report.issuer)
        return report

    def examine(self, document: bytes) -> Examination:
        """Every signature with its findings, and the verdict; blocking. Raises only
        :class:`SealError` for a document that cannot be read at all."""
        if _loop_running():
            raise RuntimeError("SealVerifier.examine blocks: run it in an executor")
        name = self.scheme_for(document)
        document_type = OFD if name == OFD_SES else PDF
        scheme = self.schemes.get(name)
        if scheme is None:
            refused = UntrustedSealError(f"{name} seals are not accepted here ([seal] formats)")
            return Examination(document_type, name, (), refused)
        try:
            signatures = tuple(scheme.examine(document))
        except SealError as err:
            return Examination(document_type, name, (), err)
        refusal: Optional[SealError] = None
        try:
            self._scheme(document).verify(document)  # the verdict, not logged: a report
        except SealError as err:
            refusal = err
        return Examination(document_type, name, signatures, refusal)

    async def verify_async(self, pdf: bytes) -> SealReport:
        """:meth:`verify` in the loop's default executor."""
        return await asyncio.get_running_loop().run_in_executor(None, self.verify, pdf)


def _split_anchors(paths: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(SM2 roots, the others): one ``[seal] trusted`` list serves every scheme."""
    from ..gm import certs  # noqa: PLC0415

    sm2: List[str] = []
    others: List[str] = []
    for path in paths:
        try:
            found = certs.load_certificates(Path(path).read_bytes())
        except OSError as err:
            raise TrustAnchorError(f"trusted seal certificate cannot be read: {err}") from err
        except GovkioskError:
            others.append(path)  # pyHanko reports what it cannot read
            continue
        if found and all(certs.is_sm2(cert) for cert in found):
            sm2.append(path)
        else:
            others.append(path)
    return sm2, others


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
