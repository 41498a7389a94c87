"""The ``ofd-ses`` scheme: electronic seals on OFD documents (GB/T 33190 §18, GB/T 38540).

An OFD carries its seals under ``Doc_N/Signs/``: ``Signatures.xml`` lists each
``Signature.xml``, which names the files it protects with their digests, the seal's
position (``StampAnnot``) and the signed value (``SignedValue.dat``, an ``SES_Signature``
over the bytes of that ``Signature.xml``). :class:`OfdSesScheme` accepts a document only
when, for **every** signature listed,

1. every protected file is in the package with the digest recorded (SM3), and no file
   outside the signature machinery is left unprotected — a file changed, removed or added
   after sealing is tampering (:mod:`govkiosk.ofd`'s reader gives the list; this module
   compares);
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

import base64
import hashlib
import logging
from typing import Any, List, Optional, Sequence, Set

from ..gm.sm3 import sm3
from .doctype import OFD
from .seal import (
    OFD_SES,
    SealError,
    SealReport,
    SignatureFinding,
    SignatureScheme,
    TamperedDocumentError,
    UnreadableDocumentError,
    UnsignedDocumentError,
    register,
)
from .settings import SealSettings

_LOGGER = logging.getLogger(__name__)

#: ``CheckMethod`` values read as SM3 (the standard's default) and the others some
#: writers use.
SM3_NAMES = {"", "sm3", "1.2.156.10197.1.401"}
OTHER_DIGESTS = {
    "sha1": "sha1",
    "1.3.14.3.2.26": "sha1",
    "sha256": "sha256",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "md5": "md5",
}


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
                findings.append(
                    SignatureFinding(
                        self.name,
                        "",
                        digest_ok=not isinstance(err, TamperedDocumentError),
                        signature_ok=False,
                        trusted=False,
                        code=err.code,
                        problem=f"{signature.path}: {err}",
                    )
                )
        return findings

    def _check(self, document: Any, signature: Any, *, strict: bool = True) -> SignatureFinding:
        """One signature: its protected files, its SES signature, its trust. ``strict``:
        raise for an untrusted one too; else report it."""
        _check_protected(document, signature)
        package = document.package
        signature_xml = package.read(signature.path)
        signed_value = _file(package, signature.signed_value_path, "signed value")
        seal_file = (
            _file(package, signature.seal_path, "seal file") if signature.seal_path else None
        )
        report = self._ses.verify_ofd_signature(
            signed_value, signature_xml, kind=signature.type, seal_file=seal_file
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
        )


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


def _file(package: Any, path: str, what: str) -> bytes:
    stored = package.find(path)
    if stored is None:
        raise TamperedDocumentError(f"the {what} {path} is missing")
    return bytes(package[stored])


def _digest(method: str, data: bytes) -> Optional[bytes]:
    name = method.strip().lower()
    if name in SM3_NAMES:
        return sm3(data)
    algorithm = OTHER_DIGESTS.get(name)
    return None if algorithm is None else hashlib.new(algorithm, data).digest()


def _machinery(document: Any) -> Set[str]:
    """The files no signature can protect: the list and each signature's own files."""
    exempt: Set[str] = set()
    if document.signatures_path:
        exempt.add(document.signatures_path.lower())
    for signature in document.signatures:
        exempt.add(signature.path.lower())
        exempt.add(signature.signed_value_path.lower())
    return exempt


def _check_protected(document: Any, signature: Any) -> None:
    """Every file ``signature`` protects is there, unchanged; no file is left unprotected."""
    package = document.package
    for reference in signature.references:
        digest_of = package.find(reference.path)
        if digest_of is None:
            raise TamperedDocumentError(
                f"{signature.path}: the protected file {reference.path} was removed"
            )
        digest = _digest(signature.check_method, package[digest_of])
        if digest is None:
            raise TamperedDocumentError(
                f"{signature.path}: unknown digest method {signature.check_method[:40]!r}"
            )
        if digest != reference.check_value and base64.b64encode(digest) != reference.check_value:
            raise TamperedDocumentError(
                f"{signature.path}: the protected file {reference.path} changed after sealing"
            )
    exempt = _machinery(document)
    covered = {
        reference.path.lower() for other in document.signatures for reference in other.references
    }
    for name in package:
        lowered = name.lower()
        if lowered in exempt or lowered in covered:
            continue
        raise TamperedDocumentError(f"the file {name} was added after sealing")


register(OFD_SES, OfdSesScheme.from_settings)
