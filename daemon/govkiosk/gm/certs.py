"""X.509 certificates with SM2 keys (GM/T 0015-2012): reading, checking, chains, CRLs, issuing.

Certificates are ``asn1crypto.x509.Certificate`` objects (asn1crypto comes with pyHanko).
Only the fields this module reads are touched: asn1crypto's convenience properties that
name the signature algorithm do not know the GM/T OIDs, so :func:`check_signature` reads
the OIDs itself. The SM2 signature of a certificate or CRL uses the default user id
``1234567812345678`` (GM/T 0015 §7); OpenSSL signs with an empty id unless told otherwise,
so both are accepted (:data:`CERT_USER_IDS`).

:func:`validate_chain` builds the path from a signer certificate to one of the given
roots through the given intermediates: names, SM2 signatures, validity at a given time,
``basicConstraints`` cA and ``keyUsage`` keyCertSign on every issuer, and revocation
through :class:`Revocation` (CRLs and OCSP, :mod:`.ocsp`; see there for what happens when
the status cannot be had).

:class:`TestAuthority` issues roots, intermediates and end-entity certificates for tests
and the demo's seal authority; a kiosk never issues anything.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from . import sm2
from .errors import GmError

_LOGGER = logging.getLogger(__name__)

#: The SM2 user ids a certificate or CRL signature is checked with: GM/T 0015's default,
#: then the empty id OpenSSL 1.1.1 and 3.x use when none is set (``openssl x509 -req``,
#: ``openssl ca`` without ``-sigopt distid:…``), so certificates such tools issue verify too.
CERT_USER_IDS = (sm2.DEFAULT_USER_ID, b"")

#: Largest certificate or CRL read (a seal authority's CRL grows; a certificate is ~1 KB).
MAX_DER = 4 * 1024 * 1024


class CertificateError(GmError):
    """A certificate or CRL cannot be read, or is not an SM2 one."""

    code = "gm.certificate"


class ChainError(GmError):
    """The certificate does not chain to a trusted root (``reason`` says why)."""

    code = "gm.chain"

    def __init__(self, message: str, *, kind: str = "untrusted") -> None:
        super().__init__(message)
        #: ``untrusted`` (no path to a root), ``expired``, ``revoked``, ``revocation``
        #: (status unknown under the hard-fail policy), ``invalid`` (a bad signature).
        self.kind = kind


def load_certificate(data: bytes) -> Any:
    """One certificate, PEM or DER; :class:`CertificateError` otherwise."""
    certs = load_certificates(data)
    if len(certs) != 1:
        raise CertificateError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def load_certificates(data: bytes) -> List[Any]:
    """Every certificate in PEM (one or many) or DER bytes."""
    from asn1crypto import pem, x509  # noqa: PLC0415

    if len(data) > MAX_DER:
        raise CertificateError("the certificate data is too large")
    try:
        if pem.detect(data):
            ders = [der for kind, _, der in pem.unarmor(data, multiple=True)]
        else:
            ders = [data]
        certs = []
        for der in ders:
            cert = x509.Certificate.load(der, strict=True)
            cert["tbs_certificate"]["subject"].native  # noqa: B018 - parse now, not later
            certs.append(cert)
    except Exception as err:  # asn1crypto raises ValueError, TypeError, …
        raise CertificateError("the certificate cannot be read as X.509") from err
    return certs


def reloaded(cert: Any) -> Any:
    """``cert`` parsed again from its DER: asn1crypto re-encodes a certificate built in
    Python on every ``dump()``, one read from bytes returns them as they are."""
    from asn1crypto import x509  # noqa: PLC0415

    return x509.Certificate.load(cert.dump())


def public_key(cert: Any) -> sm2.PublicKey:
    """The certificate's SM2 public key; :class:`CertificateError` if it is not SM2."""
    try:
        info = cert["tbs_certificate"]["subject_public_key_info"]
        return sm2.public_key_from_info(info)
    except GmError as err:
        raise CertificateError(f"{name(cert)}: {err}") from err
    except (ValueError, TypeError, KeyError) as err:
        # asn1crypto parses lazily: a damaged key inside a certificate that loaded fails
        # only now (found by the SES fuzz test: a flipped byte in a seal's signer).
        raise CertificateError(f"the certificate's public key cannot be read: {err}") from err


def is_sm2(cert: Any) -> bool:
    try:
        public_key(cert)
    except GmError:
        return False
    return True


def name(cert: Any) -> str:
    """The subject's common name (else organisation), for reports."""
    return _name_of(cert["tbs_certificate"]["subject"])


def issuer_name(cert: Any) -> str:
    return _name_of(cert["tbs_certificate"]["issuer"])


def _name_of(value: Any) -> str:
    """CN, else O; read attribute by attribute, since an odd attribute elsewhere in the
    name (a UTF8String x500UniqueIdentifier, as one seal CA writes) fails asn1crypto's
    whole-name reading."""
    found = {}
    try:
        for rdn in value.chosen:
            for attr in rdn:
                oid = attr["type"].dotted
                if oid in ("2.5.4.3", "2.5.4.10") and oid not in found:
                    try:
                        found[oid] = str(attr["value"].native)
                    except Exception:  # noqa: BLE001 - this attribute is odd: skip it
                        continue
    except Exception:  # noqa: BLE001 - not a name at all
        return "unknown"
    return found.get("2.5.4.3") or found.get("2.5.4.10") or "unknown"


def validity(cert: Any) -> Tuple[datetime.datetime, datetime.datetime]:
    period = cert["tbs_certificate"]["validity"]
    return period["not_before"].native, period["not_after"].native


def check_signature(cert_or_crl: Any, issuer: Any) -> bool:
    """Whether ``issuer``'s SM2 key signed ``cert_or_crl`` (a certificate or CRL) with
    SM2-with-SM3. False for any other algorithm."""
    is_cert = "tbs_certificate" in cert_or_crl
    tbs_key = "tbs_certificate" if is_cert else "tbs_cert_list"
    algorithm = cert_or_crl["signature_algorithm"]["algorithm"].dotted
    if algorithm != sm2.OID_SM2_WITH_SM3:
        return False
    if cert_or_crl[tbs_key]["signature"]["algorithm"].dotted != algorithm:
        return False  # the inner and outer algorithm must agree (RFC 5280 §4.1.1.2)
    key = public_key(issuer)
    signature = bytes(cert_or_crl["signature_value" if is_cert else "signature"].contents[1:])
    tbs = cert_or_crl[tbs_key].dump()
    return any(sm2.verify(key, tbs, signature, user_id, cached=True) for user_id in CERT_USER_IDS)


def fingerprint(cert: Any) -> bytes:
    """The SM3 digest of the certificate's DER (GB/T 38540's cert digest list uses it)."""
    from .sm3 import sm3  # noqa: PLC0415

    return sm3(cert.dump())


def _is_ca(cert: Any) -> bool:
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].native == "basic_constraints":
            return bool(ext["extn_value"].parsed["ca"].native)
    return False


def _may_sign_certs(cert: Any) -> bool:
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].native == "key_usage":
            return "key_cert_sign" in ext["extn_value"].parsed.native
    return True  # no keyUsage: unrestricted


def _crl_urls(cert: Any) -> List[str]:
    urls: List[str] = []
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].native != "crl_distribution_points":
            continue
        for point in ext["extn_value"].parsed:
            names = point["distribution_point"]
            if names.name != "full_name":
                continue
            for general in names.chosen:
                if general.name == "uniform_resource_identifier":
                    urls.append(str(general.native))
    return urls


@dataclass
class Revocation:
    """Where revocation status comes from, and what happens when it cannot be had.

    ``crls``: CRL files' bytes (DER or PEM) the configuration names; ``fetch``: also read
    the CRL distribution points (http only) of each certificate, with ``timeout`` seconds.
    ``policy``: ``"soft-fail"`` accepts a certificate whose status cannot be had (no CRL of
    its issuer, unreachable, stale, or badly signed) and logs why — the default, since a
    kiosk on a closed government network often reaches no CRL; ``"hard-fail"`` refuses it
    (:class:`ChainError` kind ``revocation``); ``"off"`` checks nothing. A certificate a
    valid CRL lists is refused under every policy but ``off``.

    ``ocsp``: asked first when given (:class:`govkiosk.gm.ocsp.OcspChecker`, called with
    the certificate and its issuer, answering an outcome with ``status`` good, revoked or
    unknown, ``reason``, ``responder`` and ``revoked_at``). A revocation either OCSP or a
    CRL reports refuses; a good answer from either passes; an OCSP answer that cannot be
    had (unknown, unreachable, badly signed, stale, another nonce) adds its reason and
    leaves the decision to the CRLs, then to ``policy``. Every OCSP outcome is a note, so
    ``govkioskctl seal verify`` shows it.
    """

    crls: Sequence[bytes] = ()
    fetch: bool = False
    timeout: float = 3.0
    policy: str = "soft-fail"
    #: fetch(url, timeout) -> bytes; a test hands its own.
    fetcher: Optional[Callable[[str, float], bytes]] = None
    #: How long a fetched CRL is kept before it is fetched again (a failure is not kept).
    cache_seconds: float = 3600.0
    _cache: Dict[str, Tuple[float, bytes]] = field(default_factory=dict, repr=False)
    #: ocsp(cert, issuer) -> outcome (:class:`govkiosk.gm.ocsp.OcspChecker`); None: no OCSP.
    ocsp: Optional[Callable[[Any, Any], Any]] = None
    #: Why the last checks could not decide (soft-fail), and what OCSP said, for the report.
    notes: List[str] = field(default_factory=list)

    def check(self, cert: Any, issuer: Any, at: datetime.datetime) -> None:
        """Refuse ``cert`` if OCSP or a CRL of ``issuer`` says it was revoked at or before
        ``at``."""
        if self.policy == "off":
            return
        serial = cert["tbs_certificate"]["serial_number"].native
        reasons: List[str] = []
        good = False
        ocsp_unknown = ""
        if self.ocsp is not None:
            outcome = self.ocsp(cert, issuer)
            if outcome.status == "revoked" and (
                outcome.revoked_at is None or outcome.revoked_at <= at
            ):
                self.notes.append(f"{name(cert)}: OCSP revoked ({outcome.responder})")
                raise ChainError(
                    f"{name(cert)}: the certificate is revoked (OCSP {outcome.responder})",
                    kind="revoked",
                )
            if outcome.status == "good":
                self.notes.append(f"{name(cert)}: OCSP good ({outcome.responder})")
                good = True
            elif outcome.status == "revoked":  # after ``at``, which a time stamp vouches for
                self.notes.append(
                    f"{name(cert)}: OCSP revoked {outcome.revoked_at:%Y-%m-%d %H:%M},"
                    f" after it signed ({outcome.responder})"
                )
                good = True
            else:
                ocsp_unknown = outcome.reason
                reasons.append(outcome.reason)
        for crl in self._crls_for(cert, reasons):
            status = _crl_status(crl, issuer, serial, at)
            if status == "revoked":
                raise ChainError(f"{name(cert)}: the certificate is revoked", kind="revoked")
            if status == "good":
                good = True
                continue
            reasons.append(status)
        if good:
            if ocsp_unknown:  # a CRL decided: say why OCSP did not
                self.notes.append(f"{name(cert)}: OCSP status unknown ({ocsp_unknown})")
            return
        reason = "; ".join(reasons) or "no CRL for its issuer is configured"
        if self.policy == "hard-fail":
            raise ChainError(
                f"{name(cert)}: revocation status unknown ({reason})", kind="revocation"
            )
        note = f"{name(cert)}: revocation not checked ({reason})"
        _LOGGER.info("seal: %s", note)
        self.notes.append(note)

    def _crls_for(self, cert: Any, reasons: List[str]) -> List[Any]:
        from asn1crypto import crl as crl_module  # noqa: PLC0415
        from asn1crypto import pem  # noqa: PLC0415

        blobs = list(self.crls)
        if self.fetch:
            for url in _crl_urls(cert):
                if not url.startswith("http://"):
                    continue
                try:
                    cached = self._cache.get(url)
                    if cached is None or time.monotonic() - cached[0] > self.cache_seconds:
                        cached = (time.monotonic(), (self.fetcher or _http_get)(url, self.timeout))
                        self._cache[url] = cached
                    blobs.append(cached[1])
                except Exception as err:  # noqa: BLE001 - any network failure is "unreachable"
                    reasons.append(f"CRL {url} unreachable: {type(err).__name__}")
        parsed = []
        for blob in blobs:
            if len(blob) > MAX_DER:
                reasons.append("a CRL is too large")
                continue
            try:
                der = pem.unarmor(blob)[2] if pem.detect(blob) else blob
                crl = crl_module.CertificateList.load(der, strict=True)
                if (
                    crl["tbs_cert_list"]["issuer"].dump()
                    == cert["tbs_certificate"]["issuer"].dump()
                ):
                    parsed.append(crl)
            except Exception:  # noqa: BLE001 - a bad CRL file decides nothing
                reasons.append("a configured CRL cannot be read")
        return parsed


def _http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read(MAX_DER + 1))


def _crl_status(crl: Any, issuer: Any, serial: int, at: datetime.datetime) -> str:
    """``at``: a revocation dated at or before it counts. Freshness is judged against now."""
    try:
        if not check_signature(crl, issuer):
            return "the CRL's signature does not verify"
    except GmError:
        return "the CRL's issuer has no SM2 key"
    tbs = crl["tbs_cert_list"]
    next_update = tbs["next_update"].native
    if next_update is not None and next_update < datetime.datetime.now(datetime.timezone.utc):
        return "the CRL is stale"
    for entry in tbs["revoked_certificates"]:
        if entry["user_certificate"].native == serial and entry["revocation_date"].native <= at:
            return "revoked"
    return "good"


def validate_chain(
    cert: Any,
    roots: Sequence[Any],
    intermediates: Sequence[Any] = (),
    *,
    at: Optional[datetime.datetime] = None,
    revocation: Optional[Revocation] = None,
    max_depth: int = 6,
    revoked_by: Optional[datetime.datetime] = None,
) -> List[Any]:
    """The path ``[cert, …, root]``; :class:`ChainError` when there is none.

    ``at``: the time the chain must be valid at (default now). Every certificate's own
    SM2 signature is checked against its issuer's key. ``revoked_by``: a revocation dated
    at or before it refuses the certificate — default now, since a signer's own claim of
    when it signed proves nothing; pass the signing time only when a trusted time stamp
    vouches for it (a signature made before a revocation stays good).
    """
    when = at or datetime.datetime.now(datetime.timezone.utc)
    revoked_at = revoked_by or datetime.datetime.now(datetime.timezone.utc)
    revocation = revocation or Revocation(policy="off")
    path = [cert]
    current = cert
    pool = list(intermediates)
    for _ in range(max_depth):
        root = _issuer_among(current, roots)
        issuer = root if root is not None else _issuer_among(current, pool)
        if issuer is None:
            raise ChainError(
                f"{name(cert)}: issued by {issuer_name(current)!r}, which is not a trusted"
                " seal authority",
                kind="untrusted",
            )
        _check_period(current, when)
        if root is not None:
            _check_issuer(root, when)
            if current is not root:
                revocation.check(current, root, revoked_at)
            if path[-1] is not root and path[-1].dump() != root.dump():
                path.append(root)
            return path
        _check_issuer(issuer, when)
        revocation.check(current, issuer, revoked_at)
        pool.remove(issuer)
        path.append(issuer)
        current = issuer
    raise ChainError(f"{name(cert)}: the certificate chain is too long", kind="untrusted")


def _issuer_among(cert: Any, candidates: Sequence[Any]) -> Optional[Any]:
    issuer = cert["tbs_certificate"]["issuer"].dump()
    named = [c for c in candidates if c["tbs_certificate"]["subject"].dump() == issuer]
    for candidate in named:
        try:
            if check_signature(cert, candidate):
                return candidate
        except GmError:
            continue
    if named:
        raise ChainError(
            f"{name(cert)}: its signature does not verify with the key of {name(named[0])!r}",
            kind="invalid",
        )
    return None


def _check_issuer(cert: Any, when: datetime.datetime) -> None:
    _check_period(cert, when)
    if not _is_ca(cert):
        raise ChainError(f"{name(cert)}: not a certificate authority", kind="untrusted")
    if not _may_sign_certs(cert):  # as OpenSSL: "key usage does not include certificate signing"
        raise ChainError(
            f"{name(cert)}: its key usage does not include certificate signing", kind="untrusted"
        )


def _check_period(cert: Any, when: datetime.datetime) -> None:
    start, end = validity(cert)
    if when < start or when > end:
        raise ChainError(
            f"{name(cert)}: valid {start:%Y-%m-%d} to {end:%Y-%m-%d}, not at {when:%Y-%m-%d}",
            kind="expired",
        )


# -- issuing (tests and the demo) -----------------------------------------------------------


@dataclass
class Issued:
    """A certificate with its private key."""

    certificate: Any
    key: sm2.PrivateKey

    def pem(self) -> bytes:
        from asn1crypto import pem  # noqa: PLC0415

        return bytes(pem.armor("CERTIFICATE", self.certificate.dump()))

    def save(self, stem: Path) -> None:
        """``<stem>.pem`` and ``<stem>.key`` (the key readable by the owner only)."""
        stem.with_suffix(".pem").write_bytes(self.pem())
        key_path = stem.with_suffix(".key")
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key.to_pem())

    @classmethod
    def load(cls, stem: Path) -> Issued:
        return cls(
            load_certificate(stem.with_suffix(".pem").read_bytes()),
            sm2.PrivateKey.from_pem(stem.with_suffix(".key").read_bytes()),
        )


class TestAuthority:
    """An SM2 certificate authority for tests and the demo (root plus what it issues)."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        common_name: str = "govkiosk SM2 test root",
        *,
        organization: str = "govkiosk test",
        not_before: Optional[datetime.datetime] = None,
        days: int = 3650,
    ) -> None:
        key = sm2.PrivateKey.generate()
        self.organization = organization
        start = not_before or _now() - datetime.timedelta(days=1)
        self.root = Issued(
            _certificate(
                subject=_dn(common_name, organization),
                issuer=_dn(common_name, organization),
                public=key.public_key(),
                signer=key,
                start=start,
                end=start + datetime.timedelta(days=days),
                ca=True,
            ),
            key,
        )

    @classmethod
    def in_directory(
        cls, directory: Path, common_name: str = "govkiosk SM2 test root", **kwargs: Any
    ) -> TestAuthority:
        """The authority kept in ``directory`` (``sm2-root.pem``/``.key``), made on first
        use — so a demo's trust anchor survives restarts."""
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / "sm2-root"
        authority = cls.__new__(cls)
        authority.organization = kwargs.get("organization", "govkiosk test")
        if stem.with_suffix(".pem").is_file():
            authority.root = Issued.load(stem)
        else:
            authority.root = cls(common_name, **kwargs).root
            authority.root.save(stem)
        return authority

    @classmethod
    def from_root(cls, root: Issued, organization: str = "govkiosk test") -> TestAuthority:
        """The authority whose root (certificate and key) is ``root``."""
        authority = cls.__new__(cls)
        authority.organization = organization
        authority.root = root
        return authority

    def issued_in(self, directory: Path, stem: str, common_name: str, **kwargs: Any) -> Issued:
        """``issue`` once, kept as ``<directory>/<stem>.pem``/``.key`` and reused."""
        path = directory / stem
        if path.with_suffix(".pem").is_file():
            return Issued.load(path)
        issued = self.issue(common_name, **kwargs)
        issued.save(path)
        return issued

    def issue(
        self,
        common_name: str,
        *,
        ca: bool = False,
        issuer: Optional[Issued] = None,
        key: Optional[sm2.PrivateKey] = None,
        not_before: Optional[datetime.datetime] = None,
        days: int = 730,
        crl_url: Optional[str] = None,
        ocsp_url: Optional[str] = None,
        extended_usage: Sequence[str] = (),
        public_key_info: Optional[bytes] = None,
    ) -> Issued:
        """A certificate signed by ``issuer`` (default the root); ``ocsp_url`` goes in its
        Authority Information Access, ``extended_usage`` (OIDs) in extKeyUsage.
        ``public_key_info``: certify this key (DER SubjectPublicKeyInfo, e.g. an ECDSA
        OCSP responder's) instead of the returned SM2 key's."""
        parent = issuer or self.root
        key = key or sm2.PrivateKey.generate()
        start = not_before or _now() - datetime.timedelta(hours=1)
        return Issued(
            _certificate(
                subject=_dn(common_name, self.organization),
                issuer=parent.certificate["tbs_certificate"]["subject"],
                public=public_key_info or key.public_key(),
                signer=parent.key,
                start=start,
                end=start + datetime.timedelta(days=days),
                ca=ca,
                crl_url=crl_url,
                ocsp_url=ocsp_url,
                extended_usage=extended_usage,
            ),
            key,
        )

    def crl(
        self,
        revoked: Sequence[Any] = (),
        *,
        issuer: Optional[Issued] = None,
        next_update: Optional[datetime.datetime] = None,
        revoked_at: Optional[datetime.datetime] = None,
    ) -> bytes:
        """A DER CRL by ``issuer`` (default the root) listing ``revoked`` certificates."""
        from asn1crypto import crl, x509  # noqa: PLC0415

        parent = issuer or self.root
        now = _now()
        tbs = crl.TbsCertList(
            {
                "version": "v2",
                "signature": {"algorithm": sm2.OID_SM2_WITH_SM3},
                "issuer": parent.certificate["tbs_certificate"]["subject"],
                "this_update": x509.Time(name="utc_time", value=now),
                "next_update": x509.Time(
                    name="utc_time", value=next_update or now + datetime.timedelta(days=7)
                ),
                "revoked_certificates": [
                    {
                        "user_certificate": c["tbs_certificate"]["serial_number"].native,
                        "revocation_date": x509.Time(
                            name="utc_time",
                            value=revoked_at or now - datetime.timedelta(minutes=5),
                        ),
                    }
                    for c in revoked
                ]
                or None,
            }
        )
        signature = sm2.sign(parent.key, tbs.dump())
        return bytes(
            crl.CertificateList(
                {
                    "tbs_cert_list": tbs,
                    "signature_algorithm": {"algorithm": sm2.OID_SM2_WITH_SM3},
                    "signature": signature,
                }
            ).dump()
        )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _dn(common_name: str, organization: str) -> Any:
    from asn1crypto import x509  # noqa: PLC0415

    return x509.Name.build(
        {"country_name": "CN", "organization_name": organization, "common_name": common_name},
        use_printable=False,
    )


def _certificate(
    *,
    subject: Any,
    issuer: Any,
    public: Union[sm2.PublicKey, bytes],
    signer: sm2.PrivateKey,
    start: datetime.datetime,
    end: datetime.datetime,
    ca: bool,
    crl_url: Optional[str] = None,
    usage: Optional[Set[str]] = None,
    ocsp_url: Optional[str] = None,
    extended_usage: Sequence[str] = (),
) -> Any:
    from asn1crypto import keys, x509  # noqa: PLC0415

    if usage is None:
        usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
    ]
    if crl_url:
        extensions.append(
            {
                "extn_id": "crl_distribution_points",
                "critical": False,
                "extn_value": [
                    {
                        "distribution_point": x509.DistributionPointName(
                            name="full_name",
                            value=[
                                x509.GeneralName(name="uniform_resource_identifier", value=crl_url)
                            ],
                        )
                    }
                ],
            }
        )
    if ocsp_url:
        extensions.append(
            {
                "extn_id": "authority_information_access",
                "critical": False,
                "extn_value": [
                    {
                        "access_method": "ocsp",
                        "access_location": x509.GeneralName(
                            name="uniform_resource_identifier", value=ocsp_url
                        ),
                    }
                ],
            }
        )
    if extended_usage:
        extensions.append(
            {"extn_id": "extended_key_usage", "critical": False, "extn_value": list(extended_usage)}
        )
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(63) + 1,
            "signature": {"algorithm": sm2.OID_SM2_WITH_SM3},
            "issuer": issuer,
            "validity": {
                "not_before": x509.Time(name="utc_time", value=start),
                "not_after": x509.Time(name="utc_time", value=end),
            },
            "subject": subject,
            "subject_public_key_info": keys.PublicKeyInfo.load(
                public if isinstance(public, bytes) else public.to_der()
            ),
            "extensions": extensions,
        }
    )
    signature = sm2.sign(signer, tbs.dump())
    return x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": sm2.OID_SM2_WITH_SM3},
            "signature_value": signature,
        }
    )
