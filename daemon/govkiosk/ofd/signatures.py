"""What each signature of an OFD document protects, checked; the parts its verifier needs.

A signature's ``References`` list package files with a digest (``CheckMethod``: SM3 by
OID ``1.2.156.10197.1.401`` or by name; SHA-256 and SHA-1 by the names writers use).
:func:`check_signature` recomputes every digest and fails, naming the file, when one was
**changed** or **removed**. A file **added** after signing is a file of the package that
the signature does not cover; the standard lets a signature cover what it chooses and
ofdrw's validator only recomputes the listed digests, but an added file can change what
is shown (an annotation the document names but never wrote, a page resource), so by
default every file must be covered except the signatures' own parts: ``Signatures.xml``
(each new signature is added to it), and each signature's ``Signature.xml``, signed
value and seal file (each is checked by its own signature, and a later signature
usually protects the earlier ones). ``strict=False`` lists such files instead.

The SM2 and SES checks are not here: :class:`SignatureParts` carries what a seal
verifier needs (the ``Signature.xml`` bytes that SES signs over, the ``SignedValue``
bytes that hold the ``SES_Signature`` and the seal in it, the provider, the method, the
stamp's placement).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

from cryptography.hazmat.primitives import hashes

from .errors import OfdFormatError, ProtectedFileError
from .model import Document, Provider, Signature, StampAnnot

SM3_OID = "1.2.156.10197.1.401"
SM2_SM3_SIGNATURE_OID = "1.2.156.10197.1.501"

_METHODS: Dict[str, type] = {
    "sm3": hashes.SM3,
    SM3_OID: hashes.SM3,
    "sha256": hashes.SHA256,
    "sha-256": hashes.SHA256,
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "sha1": hashes.SHA1,
    "sha-1": hashes.SHA1,
    "1.3.14.3.2.26": hashes.SHA1,
}


def digest_for(method: str) -> hashes.HashAlgorithm:
    """The hash a ``CheckMethod`` names (empty: SM3, the standard's default)."""
    key = method.strip().lower() or "sm3"
    algorithm = _METHODS.get(key)
    if algorithm is None:
        raise ProtectedFileError(f"signature: unknown digest method {method[:40]!r}", "", "method")
    instance: hashes.HashAlgorithm = algorithm()
    return instance


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    hasher = hashes.Hash(algorithm)
    hasher.update(data)
    return hasher.finalize()


@dataclass(frozen=True)
class SignatureParts:
    """One signature whose protected files match, with what its verifier needs."""

    signature: Signature
    #: the ``Signature.xml`` file as stored: what an SES signature signs (over SM3)
    signature_xml: bytes
    #: the ``SignedValue`` file: an ``SES_Signature`` (v1 or v4) holding the seal
    signed_value: bytes
    #: the seal file some writers store beside it (``Seal.esl``), or None
    seal_file: Optional[bytes]
    provider: Provider
    #: ``SignatureMethod`` (``1.2.156.10197.1.501`` is SM2 with SM3)
    method: str
    stamp_annots: Tuple[StampAnnot, ...]
    protected: Tuple[str, ...]
    #: files no signature part covers; empty unless checked with ``strict=False``
    unprotected: Tuple[str, ...]


def _signature_parts(document: Document) -> Set[str]:
    """Package paths that belong to the signatures themselves."""
    parts: Set[str] = set()
    if document.signatures_path is not None:
        parts.add(document.signatures_path)
    for signature in document.signatures:
        for path in (signature.path, signature.signed_value_path, signature.seal_path):
            if path is not None:
                stored = document.package.find(path)
                parts.add(stored if stored is not None else path)
    return parts


def check_signature(
    document: Document, signature: Signature, strict: bool = True
) -> SignatureParts:
    """Recompute ``signature``'s digests; :class:`ProtectedFileError` names the first
    changed, removed or (with ``strict``) added file."""
    package = document.package
    algorithm = digest_for(signature.check_method)
    protected: List[str] = []
    for reference in signature.references:
        stored = package.find(reference.path)
        if stored is None:
            raise ProtectedFileError(
                f"signature {signature.id}: protected file {reference.path} was removed",
                reference.path,
                "removed",
            )
        actual = _digest(algorithm, package[stored])
        if not hmac.compare_digest(actual, reference.check_value):
            raise ProtectedFileError(
                f"signature {signature.id}: protected file {reference.path} was changed",
                reference.path,
                "changed",
            )
        protected.append(stored)
    covered = set(protected) | _signature_parts(document)
    unprotected = tuple(sorted(name for name in package if name not in covered))
    if strict and unprotected:
        raise ProtectedFileError(
            f"signature {signature.id}: file {unprotected[0]} is not protected"
            " (added after signing?)",
            unprotected[0],
            "added",
        )
    signature_xml = package.read(signature.path)
    value_name = package.find(signature.signed_value_path)
    if value_name is None:
        raise OfdFormatError(f"signature {signature.id}: {signature.signed_value_path} is missing")
    seal_name = package.find(signature.seal_path) if signature.seal_path else None
    if signature.seal_path and seal_name is None:
        raise OfdFormatError(f"signature {signature.id}: {signature.seal_path} is missing")
    return SignatureParts(
        signature=signature,
        signature_xml=signature_xml,
        signed_value=package[value_name],
        seal_file=package[seal_name] if seal_name is not None else None,
        provider=signature.provider,
        method=signature.method,
        stamp_annots=signature.stamp_annots,
        protected=tuple(protected),
        unprotected=() if strict else unprotected,
    )


def check_signatures(document: Document, strict: bool = True) -> List[SignatureParts]:
    """Every signature checked in order; the first failure raises."""
    return [check_signature(document, signature, strict) for signature in document.signatures]
