"""The seal verifier's errors (§7.2 a): each has a stable ops ``code``.

``seal.unreadable`` (not a PDF/OFD signature at all), ``seal.malformed`` (a seal structure
that cannot be read), ``seal.unsigned``, ``seal.tampered``, ``seal.expired``,
``seal.untrusted``, ``seal.revoked``, ``seal.trust`` (a configured anchor cannot be read).
They are importable from :mod:`.seal` as before.
"""

from __future__ import annotations

from ..errors import GovkioskError


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
