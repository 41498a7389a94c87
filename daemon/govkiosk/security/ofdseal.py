"""The ``ofd-ses`` scheme: electronic seals on OFD documents (GB/T 33190 §18, GB/T 38540).

An OFD carries its seals under ``Doc_N/Signs/``: ``Signatures.xml`` lists each
``Signature.xml``, which names the files it protects with their digests, the seal's
position (``StampAnnot``) and the signed value (``SignedValue.dat``, an ``SES_Signature``
over the bytes of that ``Signature.xml``). :class:`OfdSesScheme` accepts a document only
when, for **every** signature listed,

1. every protected file is in the package with the digest recorded (SM3), and no file
   outside the signatures' own parts is left unprotected — a file changed, removed or
   added after sealing is tampering (:func:`govkiosk.ofd.signatures.check_signature`);
2. the signed value is an SES signature over that ``Signature.xml`` (its
   ``propertyInfo`` names it), the seal's maker signature and the signer's signature
   verify, the signer is one the seal lists, the seal was valid when it signed, and the
   package's ``Seal.esl`` is the seal that signed (:class:`~.sesverify.SesVerifier`);
3. the signer and the seal maker chain to an SM2 root in ``[seal] trusted``, with the
   revocation policy of ``[seal] revocation``.

Refusals are the seal verifier's errors: unreadable (``seal.unreadable``/
``seal.malformed``), unsigned, tampered with the file or check that failed, expired,
untrusted or revoked. The report names the seal (its name, which the preview shows) and
its signer.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, List, Sequence

from ..errors import GovkioskError
from .doctype import OFD
from .seal import (
    OFD_SES,
    ExpiredSealError,
    SealError,
    SealReport,
    SignatureFinding,
    SignatureScheme,
    TamperedDocumentError,
    UnreadableDocumentError,
    UnsignedDocumentError,
    UntrustedSealError,
    register,
)
from .settings import SealSettings

_LOGGER = logging.getLogger(__name__)


class OfdSesScheme(SignatureScheme):
    """OFD documents sealed with SES signatures."""

    name = OFD_SES

    def __init__(self, ses: Any) -> None:
        """``ses``: a :class:`~.sesverify.SesVerifier` (the SM2 roots and revocation)."""
        self._ses = ses

    @classmethod
    def from_settings(cls, sm2_roots: Sequence[str], settings: SealSettings) -> OfdSesScheme:
        from .sesverify import SesVerifier  # noqa: PLC0415

        return cls(SesVerifier.from_settings(settings))

    def verify(self, pdf: bytes) -> SealReport:
        document = _read(pdf)
        findings = []
        for signature in document.signatures:
            finding = self._check(document, signature)
            findings.append(finding)
        last = findings[-1]
        return SealReport(
            signer=last.signer,
            signed_at=last.signed_at,
            scheme=self.name,
            covers_whole_document=True,
            seal_name=last.seal_name,
            document_type=OFD,
            signatures=tuple(findings),
        )

    def examine(self, document: bytes) -> List[SignatureFinding]:
        read = _read(document)
        findings = []
        for signature in read.signatures:
            try:
                findings.append(self._check(read, signature, strict=False))
            except SealError as err:
                finding = _refused(read, signature, err)
                if not finding.digest_ok:  # still say whether Signature.xml itself was signed
                    holds = self._signature_holds(read, signature)
                    finding = dataclasses.replace(finding, signature_ok=holds)
                findings.append(finding)
        return findings

    def _signature_holds(self, document: Any, signature: Any) -> bool:
        """Whether the SES signature over ``Signature.xml`` verifies, whatever the files it
        lists say (a changed page with an intact signature is told from a forged one)."""
        package = document.package
        seal_file = None
        try:
            if signature.seal_path:
                seal_file = package.read(signature.seal_path)
            self._ses.verify_ofd_signature(
                package.read(signature.signed_value_path),
                package.read(signature.path),
                kind=signature.type,
                seal_file=seal_file,
            )
        except ExpiredSealError:
            return True  # checked after the signatures verified
        except (GovkioskError, KeyError):
            return False
        return True

    def _check(self, document: Any, signature: Any, *, strict: bool = True) -> SignatureFinding:
        """One signature: its protected files, its SES signature, its trust. ``strict``:
        raise for an untrusted one too; else report it."""
        parts = _protected(document, signature)
        report = self._ses.verify_ofd_signature(
            parts.signed_value, parts.signature_xml, kind=signature.type, seal_file=parts.seal_file
        )
        signed = (report.property_info or "").strip().lstrip("/")
        if signed and signed.lower() != signature.path.lower():
            raise TamperedDocumentError(f"{signature.path}: its signed value was made for {signed}")
        code, problem = "", ""
        if strict:
            report.raise_unless_trusted()
        elif not report.trusted:
            try:
                report.raise_unless_trusted()
            except SealError as err:
                code, problem = err.code, str(err)
        stamp = report.timestamp
        return SignatureFinding(
            format=f"{OFD_SES} {report.format}",
            signer=report.signer,
            digest_ok=True,
            signature_ok=True,
            trusted=report.trusted,
            seal_name=report.seal_name or "",
            seal_id=report.seal_id or "",
            seal_format=report.format,
            maker=report.maker or "",
            valid_from=report.valid_from,
            valid_to=report.valid_to,
            signed_at=report.signed_at,
            timestamp="none"
            if stamp is None
            else f"{stamp.time:%Y-%m-%d %H:%M:%S} by {stamp.authority}"
            + ("" if stamp.verified else " (not verified)"),
            code=code,
            problem=problem,
            notes=report.notes,
        )


def _refused(document: Any, signature: Any, err: SealError) -> SignatureFinding:
    """A signature that failed, with what its signed value says where it can be read."""
    from ..gm import certs  # noqa: PLC0415
    from .ses import parse_signature  # noqa: PLC0415

    finding = SignatureFinding(
        OFD_SES,
        "",
        digest_ok=not isinstance(err, TamperedDocumentError),
        # An expired or untrusted seal failed after its signatures verified.
        signature_ok=isinstance(err, (ExpiredSealError, UntrustedSealError)),
        trusted=False,
        code=err.code,
        problem=f"{signature.path}: {err}",
    )
    stored = document.package.find(signature.signed_value_path)
    try:
        parsed = parse_signature(bytes(document.package[stored]))
        signer = certs.load_certificate(parsed.signer_cert)
        maker = certs.load_certificate(parsed.seal.maker_cert)
    except (KeyError, GovkioskError):
        return finding
    seal = parsed.seal
    return dataclasses.replace(
        finding,
        format=f"{OFD_SES} {parsed.format}",
        signer=certs.name(signer),
        seal_name=seal.name,
        seal_id=seal.es_id,
        seal_format=seal.format,
        maker=certs.name(maker),
        valid_from=seal.valid_start,
        valid_to=seal.valid_end,
        signed_at=parsed.signed_at,
    )


def _protected(document: Any, signature: Any) -> Any:
    """The signature's parts once its protected files match (:mod:`govkiosk.ofd.signatures`);
    a file changed, removed or added, or a signature part missing, is tampering."""
    from ..ofd.errors import OfdError, ProtectedFileError  # noqa: PLC0415
    from ..ofd.signatures import check_signature  # noqa: PLC0415

    try:
        return check_signature(document, signature)
    except ProtectedFileError as err:
        what = {"changed": "changed after sealing", "removed": "was removed", "added": "was added"}
        if err.reason in what:
            raise TamperedDocumentError(
                f"signature {signature.id}: the file {err.path} {what[err.reason]}"
            ) from err
        raise TamperedDocumentError(f"signature {signature.id}: {err}") from err
    except OfdError as err:
        raise TamperedDocumentError(f"signature {signature.id}: {err}") from err


def stamps(document: Any) -> List[Any]:
    """The seal pictures to draw: each signature's ``StampAnnot`` with its seal's picture
    (:class:`govkiosk.ofd.render.StampPicture`). A signature whose seal cannot be read
    is left out (the seal verifier refuses such a document before it is shown)."""
    from ..ofd.render import StampPicture  # noqa: PLC0415
    from .ses import parse_signature  # noqa: PLC0415

    pictures = []
    package = document.package
    for signature in document.signatures:
        stored = package.find(signature.signed_value_path)
        if stored is None or not signature.stamp_annots:
            continue
        try:
            picture = parse_signature(bytes(package[stored])).seal.picture.data
        except SealError:
            continue
        for stamp in signature.stamp_annots:
            pictures.append(StampPicture(stamp.page_ref, stamp.boundary, picture))
    return pictures


def _read(data: bytes) -> Any:
    """The OFD's document model; unreadable or unsigned documents refused."""
    from ..ofd.errors import OfdError  # noqa: PLC0415 - the reader is heavy
    from ..ofd.model import read_ofd  # noqa: PLC0415

    try:
        document = read_ofd(data)
    except OfdError as err:
        raise UnreadableDocumentError(f"the OFD cannot be read: {err}") from err
    except Exception as err:  # a reader fed arbitrary bytes: still a refusal, never a crash
        raise UnreadableDocumentError("the OFD cannot be read") from err
    if not document.signatures:
        raise UnsignedDocumentError("the OFD carries no electronic seal")
    return document


register(OFD_SES, OfdSesScheme.from_settings)
