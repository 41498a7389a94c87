"""Verifying SM2 electronic seals: SES seals and signatures (GM/T 0031 v1, GB/T 38540 v4),
GB/T 35275 digital signatures, and the trust in the SM2 certificates behind them.

:class:`SesVerifier` checks, for one OFD signature (its ``SignedValue.dat`` and the
``Signature.xml`` it protects — the OFD reader checks the file digests that Signature.xml
lists):

1. the structure reads (else :class:`MalformedSealError`, ``seal.malformed``);
2. ``dataHash`` is the SM3 of the protected bytes (else :class:`TamperedDocumentError`
   "the signed data's digest does not match …");
3. the signer's SM2 signature over ``toSign`` verifies with the certificate it carries
   ("the signature value does not verify");
4. the seal's maker signature verifies with the maker's certificate ("the seal's maker
   signature does not verify");
5. the seal file in the package, when given, is the seal inside the signature ("the seal
   file … is not the seal that signed");
6. the signer's certificate is one the seal lists, by certificate or by digest ("the
   signer's certificate is not one the seal lists");
7. the signing time lies in the seal's validity (else :class:`ExpiredSealError`,
   ``seal.expired``);
8. a v4 time stamp, when present, is read and reported (its imprint must match the
   signature value, else tampering; its authority's SM2 signature is verified, and when
   the authority chains to the SM2 seal authorities its time is the signing time);
9. trust: the signer's and the maker's certificates chain to the configured SM2 seal
   authorities, valid at the signing time (the time stamp's when it verifies), with
   revocation per :class:`~govkiosk.gm.certs.Revocation` (CRLs and OCSP).

Steps 1-8 raise; step 9 is reported (:attr:`SignatureReport.trusted`, ``trust``) so that
``govkioskctl seal verify`` can say "valid signature, untrusted issuer";
:meth:`SignatureReport.raise_unless_trusted` turns it into :class:`UntrustedSealError`
(``seal.untrusted``), :class:`RevokedSealError` or :class:`ExpiredSealError`, which is what
the flow must do. Everything raised is a :class:`SealError`, whatever the bytes.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..gm import certs, cms, ocsp, sm2
from ..gm.errors import GmError
from ..gm.sm3 import sm3
from .errors import (
    ExpiredSealError,
    MalformedSealError,
    RevokedSealError,
    SealError,
    TamperedDocumentError,
    TrustAnchorError,
    UntrustedSealError,
)
from .ses import Seal, SealSignature, parse_seal, parse_signature
from .settings import SealSettings

_LOGGER = logging.getLogger(__name__)

GBT35275_FORMAT = "GB/T 35275 SM2 signature"


@dataclass(frozen=True)
class TimestampReport:
    time: datetime.datetime
    authority: str
    verified: bool  # the authority's SM2 signature verified
    note: str
    #: the authority chains to the SM2 seal authorities: its time is the signing time
    trusted: bool = False


@dataclass(frozen=True)
class SignatureReport:
    """One signature, as ``govkioskctl seal verify`` shows it. No personal data: the
    signer is the authority's certificate, the seal its name."""

    format: str  # V1_FORMAT, V4_FORMAT, GBT35275_FORMAT, or "PDF SM2 (CMS)"
    signer: str  # the signer certificate's common name
    seal_name: Optional[str]
    seal_id: Optional[str]
    maker: Optional[str]  # the seal maker certificate's common name
    valid_from: Optional[datetime.datetime]  # the seal's validity
    valid_to: Optional[datetime.datetime]
    signed_at: Optional[datetime.datetime]
    digest_ok: bool  # always True in a returned report: a mismatch raises
    trusted: bool
    #: "trusted", or why not (``trust_kind``: untrusted, invalid, expired, revoked, revocation)
    trust: str
    trust_kind: str = "trusted"
    timestamp: Optional[TimestampReport] = None
    notes: Tuple[str, ...] = ()
    #: for OFD: the path of the Signature.xml the signature says it signed
    property_info: str = ""
    signer_certificate: Any = field(default=None, repr=False, compare=False)

    def raise_unless_trusted(self) -> SignatureReport:
        """This report if trusted; else the :class:`SealError` the trust failure is."""
        if self.trusted:
            return self
        if self.trust_kind == "revoked":
            raise RevokedSealError(self.trust)
        if self.trust_kind == "expired":
            raise ExpiredSealError(self.trust)
        raise UntrustedSealError(self.trust)

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready (``--json``)."""

        def when(value: Optional[datetime.datetime]) -> Optional[str]:
            return value.isoformat() if value else None

        return {
            "format": self.format,
            "signer": self.signer,
            "seal_name": self.seal_name,
            "seal_id": self.seal_id,
            "maker": self.maker,
            "valid_from": when(self.valid_from),
            "valid_to": when(self.valid_to),
            "signed_at": when(self.signed_at),
            "digest_ok": self.digest_ok,
            "trusted": self.trusted,
            "trust": self.trust,
            "timestamp": None
            if self.timestamp is None
            else {
                "time": when(self.timestamp.time),
                "authority": self.timestamp.authority,
                "verified": self.timestamp.verified,
                "trusted": self.timestamp.trusted,
                "note": self.timestamp.note,
            },
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class SealFileReport:
    """A seal on its own (an ``.esl`` file): its maker signature verified."""

    format: str
    seal_name: str
    seal_id: str
    maker: str
    valid_from: datetime.datetime
    valid_to: datetime.datetime
    trusted: bool
    trust: str
    trust_kind: str = "trusted"
    notes: Tuple[str, ...] = ()


class SesVerifier:
    """Verifies SM2 seals and signatures against the configured SM2 seal authorities."""

    def __init__(
        self,
        roots: Sequence[Any] = (),
        intermediates: Sequence[Any] = (),
        revocation: Optional[certs.Revocation] = None,
    ) -> None:
        """``roots``/``intermediates``: asn1crypto certificates; non-SM2 ones are ignored."""
        # read back from DER: a certificate built in Python re-encodes on every dump()
        self.roots = [certs.reloaded(c) for c in roots if certs.is_sm2(c)]
        self.intermediates = [certs.reloaded(c) for c in intermediates if certs.is_sm2(c)]
        self.revocation = revocation or certs.Revocation()

    @classmethod
    def from_settings(cls, settings: SealSettings) -> SesVerifier:
        """The SM2 authorities among ``[seal] trusted``, with intermediates and CRLs."""
        roots = _read_certs(settings.trusted)
        intermediates = _read_certs(settings.intermediates)
        crls = []
        for path in settings.crls:
            try:
                crls.append(Path(path).read_bytes())
            except OSError as err:
                raise TrustAnchorError(f"CRL cannot be read: {err}") from err
        checker = None
        if settings.ocsp or settings.ocsp_responders:
            checker = ocsp.OcspChecker(
                responders=settings.ocsp_responders,
                use_aia=settings.ocsp,
                timeout=settings.crl_timeout,
            )
        revocation = certs.Revocation(
            crls=tuple(crls),
            fetch=settings.fetch_crls,
            timeout=settings.crl_timeout,
            policy=settings.revocation,
            ocsp=checker,
        )
        return cls(roots, intermediates, revocation)

    # -- seals --------------------------------------------------------------------------

    def verify_seal(
        self, seal: Union[bytes, Seal], *, at: Optional[datetime.datetime] = None
    ) -> SealFileReport:
        """A seal file: structure, maker signature, and — when ``at`` is given — its
        validity at that time. The maker's trust is judged at ``at`` (default: the seal's
        creation)."""
        parsed = seal if isinstance(seal, Seal) else parse_seal(seal)
        maker = _check_maker(parsed)
        if at is not None:
            _check_validity(parsed, at)
        trusted, trust, kind, notes = self._trust([maker], at or parsed.created)
        return SealFileReport(
            format=parsed.format,
            seal_name=parsed.name,
            seal_id=parsed.es_id,
            maker=certs.name(maker),
            valid_from=parsed.valid_start,
            valid_to=parsed.valid_end,
            trusted=trusted,
            trust=trust,
            trust_kind=kind,
            notes=notes,
        )

    # -- signatures ---------------------------------------------------------------------

    def verify_signature(
        self,
        signed_value: bytes,
        protected: bytes,
        *,
        seal_file: Optional[bytes] = None,
    ) -> SignatureReport:
        """An ``SES_Signature`` (``SignedValue.dat``) over ``protected`` (the bytes of its
        ``Signature.xml``); ``seal_file``: the ``Seal.esl`` the package carries, if any."""
        signature = parse_signature(signed_value)
        if sm3(protected) != signature.data_hash:
            raise TamperedDocumentError(
                "the signed data's digest does not match: the protected Signature.xml changed"
            )
        signer = _load(signature.signer_cert, "the signer's certificate")
        _check_algorithm(signature.signature_algorithm, "signature")
        if not sm2.verify(_key(signer), signature.to_sign, signature.signature):
            raise TamperedDocumentError("the signature value does not verify")
        seal = signature.seal
        maker = _check_maker(seal)
        if seal_file is not None and seal_file != seal.der:
            raise TamperedDocumentError(
                "the seal file in the document is not the seal that signed it"
            )
        _check_listed(seal, signer)
        notes: List[str] = []
        stamp = None
        when = signature.signed_at
        if when is None:
            notes.append(f"the signing time {signature.time_text!r} cannot be read")
        if signature.timestamp is not None:
            stamp, tsa, tsa_certs = _timestamp(signature)
            if tsa is not None:
                ok, why, _, _ = self._trust([tsa], stamp.time, intermediates=tsa_certs)
                if ok:
                    when = stamp.time  # a trusted authority's time decides
                    stamp = replace(stamp, trusted=True)
                else:
                    stamp = replace(stamp, note=f"the time-stamp authority is not trusted: {why}")
        if when is not None:
            _check_validity(seal, when)
        trusted, trust, kind, trust_notes = self._trust(
            [signer, maker],
            when or datetime.datetime.now(datetime.timezone.utc),
            time_vouched=stamp is not None and stamp.trusted,
        )
        return SignatureReport(
            format=signature.format,
            signer=certs.name(signer),
            seal_name=seal.name,
            seal_id=seal.es_id,
            maker=certs.name(maker),
            valid_from=seal.valid_start,
            valid_to=seal.valid_end,
            signed_at=signature.signed_at,
            digest_ok=True,
            trusted=trusted,
            trust=trust,
            trust_kind=kind,
            timestamp=stamp,
            notes=tuple(notes) + trust_notes,
            property_info=signature.property_info,
            signer_certificate=signer,
        )

    def verify_digital_signature(self, signed_value: bytes, protected: bytes) -> SignatureReport:
        """A GB/T 35275 signature (an OFD ``Signature`` of ``Type="Sign"``): a CMS
        SignedData whose content is the SM3 of ``protected`` (or, without content, whose
        signed attributes' digest is)."""
        try:
            info = cms.verify_signed_data(signed_value, detached=protected)
        except cms.CmsError as err:
            if err.kind in ("digest", "signature"):
                raise TamperedDocumentError(f"the digital signature: {err}") from err
            raise MalformedSealError(f"the digital signature: {err}") from err
        except GmError as err:
            raise MalformedSealError(f"the digital signature: {err}") from err
        if info.content is not None and info.content not in (
            sm3(protected),
            _b64(sm3(protected)),
        ):
            raise TamperedDocumentError(
                "the signed data's digest does not match: the protected Signature.xml changed"
            )
        when = info.signing_time
        trusted, trust, kind, notes = self._trust(
            [info.signer],
            when or datetime.datetime.now(datetime.timezone.utc),
            intermediates=info.certificates,
        )
        return SignatureReport(
            format=GBT35275_FORMAT,
            signer=certs.name(info.signer),
            seal_name=None,
            seal_id=None,
            maker=None,
            valid_from=None,
            valid_to=None,
            signed_at=when,
            digest_ok=True,
            trusted=trusted,
            trust=trust,
            trust_kind=kind,
            notes=notes,
            signer_certificate=info.signer,
        )

    def verify_ofd_signature(
        self,
        signed_value: bytes,
        signature_xml: bytes,
        *,
        kind: str = "Seal",
        seal_file: Optional[bytes] = None,
    ) -> SignatureReport:
        """One entry of an OFD's ``Signs/``: ``kind`` is its ``Type`` in Signatures.xml
        (``Seal``: an SES signature; ``Sign``: GB/T 35275). Blocking, CPU-bound."""
        try:
            if kind == "Sign":
                return self.verify_digital_signature(signed_value, signature_xml)
            return self.verify_signature(signed_value, signature_xml, seal_file=seal_file)
        except SealError:
            raise
        except GmError as err:  # anything the plumbing did not foresee is still a refusal
            raise MalformedSealError(f"the signature cannot be checked: {err}") from err

    async def verify_ofd_signature_async(
        self,
        signed_value: bytes,
        signature_xml: bytes,
        *,
        kind: str = "Seal",
        seal_file: Optional[bytes] = None,
    ) -> SignatureReport:
        """:meth:`verify_ofd_signature` in the loop's default executor."""
        call = functools.partial(
            self.verify_ofd_signature, signed_value, signature_xml, kind=kind, seal_file=seal_file
        )
        return await asyncio.get_running_loop().run_in_executor(None, call)

    # -- trust --------------------------------------------------------------------------

    def chain(
        self,
        cert: Any,
        at: datetime.datetime,
        intermediates: Sequence[Any] = (),
    ) -> Tuple[bool, str, str, Tuple[str, ...]]:
        """(trusted, "trusted" or the reason, kind, notes) for one SM2 certificate."""
        return self._trust([cert], at, intermediates=intermediates)

    def _trust(
        self,
        chain_of: Sequence[Any],
        at: datetime.datetime,
        *,
        intermediates: Sequence[Any] = (),
        time_vouched: bool = False,
    ) -> Tuple[bool, str, str, Tuple[str, ...]]:
        """``at``: when the certificates must be valid; a revocation before now refuses,
        or before ``at`` when a trusted time stamp vouches for it (``time_vouched``)."""
        revocation = replace(self.revocation, notes=[])
        pool = list(self.intermediates) + [c for c in intermediates if certs.is_sm2(c)]
        for cert in chain_of:
            try:
                certs.validate_chain(
                    cert,
                    self.roots,
                    pool,
                    at=at,
                    revocation=revocation,
                    revoked_by=at if time_vouched else None,
                )
            except certs.ChainError as err:
                return False, str(err), err.kind, tuple(revocation.notes)
            except GmError as err:
                return False, f"{certs.name(cert)}: {err}", "invalid", tuple(revocation.notes)
        return True, "trusted", "trusted", tuple(dict.fromkeys(revocation.notes))


def _read_certs(paths: Sequence[str]) -> List[Any]:
    found: List[Any] = []
    for path in paths:
        try:
            found.extend(certs.load_certificates(Path(path).read_bytes()))
        except OSError as err:
            raise TrustAnchorError(f"trusted seal certificate cannot be read: {err}") from err
        except GmError as err:
            raise TrustAnchorError(f"trusted seal certificate {path} is not X.509: {err}") from err
    return found


def _load(der: bytes, what: str) -> Any:
    try:
        cert = certs.load_certificate(der)
        certs.public_key(cert)
    except GmError as err:
        raise MalformedSealError(f"{what} cannot be read as an SM2 certificate: {err}") from err
    return cert


def _key(cert: Any) -> sm2.PublicKey:
    return certs.public_key(cert)


def _check_algorithm(oid: str, what: str) -> None:
    if oid != sm2.OID_SM2_WITH_SM3:
        raise MalformedSealError(f"the {what} algorithm is {oid}, not SM2 with SM3")


def _check_maker(seal: Seal) -> Any:
    maker = _load(seal.maker_cert, "the seal maker's certificate")
    _check_algorithm(seal.signature_algorithm, "seal's maker signature")
    key = _key(maker)
    if not any(
        sm2.verify(key, signed, seal.maker_signature, cached=True) for signed in seal.maker_signed
    ):
        raise TamperedDocumentError("the seal's maker signature does not verify")
    return maker


def _check_listed(seal: Seal, signer: Any) -> None:
    der = signer.dump()
    if seal.certs and der in seal.certs:
        return
    for kind, digest in seal.cert_digests:
        if _digest(kind, der) == digest:
            return
    raise TamperedDocumentError(
        f"the signer's certificate ({certs.name(signer)}) is not one the seal lists"
    )


def _digest(kind: str, data: bytes) -> Optional[bytes]:
    name = kind.strip().lower().replace("-", "")
    if name in ("sm3", sm2.OID_SM3):
        return sm3(data)
    if name in ("sha1", "1.3.14.3.2.26"):
        return hashlib.sha1(data).digest()  # a digest list may name it: read, not made
    if name in ("sha256", "2.16.840.1.101.3.4.2.1"):
        return hashlib.sha256(data).digest()
    return None


def _check_validity(seal: Seal, when: datetime.datetime) -> None:
    if not seal.valid_start <= when <= seal.valid_end:
        raise ExpiredSealError(
            f"the seal {seal.name!r} was valid {seal.valid_start:%Y-%m-%d} to"
            f" {seal.valid_end:%Y-%m-%d}, not at {when:%Y-%m-%d %H:%M} when it signed"
        )


def _timestamp(signature: SealSignature) -> Tuple[TimestampReport, Any, List[Any]]:
    """The report, the authority's certificate (None unless its signature verified) and
    the certificates the token carries."""
    assert signature.timestamp is not None
    try:
        stamp = cms.read_timestamp(signature.timestamp, signature.signature)
    except GmError as err:
        raise MalformedSealError(f"the time stamp cannot be read: {err}") from err
    if not stamp.imprint_ok:
        raise TamperedDocumentError("the time stamp does not stamp this signature value")
    report = TimestampReport(
        time=stamp.time, authority=stamp.authority, verified=stamp.signature_ok, note=stamp.note
    )
    return report, stamp.signer, stamp.certificates


def _b64(data: bytes) -> bytes:
    import base64  # noqa: PLC0415

    return base64.b64encode(data)
