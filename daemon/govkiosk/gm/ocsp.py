"""OCSP (RFC 6960) for the SM2 seal authorities: asking whether a certificate is revoked.

:class:`OcspChecker` is what :class:`~govkiosk.gm.certs.Revocation` calls for each
certificate of a chain (``ocsp=``). It asks the responders the configuration names
(``[seal] ocsp_responders``), then — with ``[seal] ocsp = true`` — the ones the
certificate's Authority Information Access names (``id-ad-ocsp``, http only), and answers
with an :class:`Outcome`:

- the request is one ``CertID`` (SHA-1 of the issuer's name and key, as OpenSSL and the
  seal CAs in use build it; an answer by SHA-256 or SM3 ``CertID`` is read too) with a
  fresh 16-byte nonce, POSTed as ``application/ocsp-request`` with the
  ``[seal] crl_timeout`` seconds;
- the response must be ``successful``, a ``BasicOCSPResponse`` signed by the issuer
  itself, or by a responder certificate the issuer signed that has ``id-kp-OCSPSigning``
  and is valid now (SM2 with SM3 through :mod:`.sm2`, ECDSA and RSA through
  ``cryptography``); it must carry our nonce, answer for our certificate, and be current
  (``thisUpdate`` not in the future beyond :data:`CLOCK_SKEW`, ``nextUpdate`` not past);
- ``good`` passes, ``revoked`` refuses (under every policy but ``off``), and anything
  else — ``unknown``, unreachable, unreadable, badly signed, stale, another nonce — is
  "status unknown" with the reason, which the ``[seal] revocation`` policy decides.

A good or revoked answer with a ``nextUpdate`` is kept until then (the nonce proves
freshness only for the request that carried it; a cached answer is as fresh as its
``nextUpdate`` says). Failures are not kept, but a responder that cannot be reached is
not asked again for :attr:`OcspChecker.retry_after` seconds. Blocking I/O: the verifier
runs in an executor, never on the event loop.

:func:`make_response` builds responses for tests.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import certs, sm2
from .errors import GmError
from .sm3 import sm3

#: id-kp-OCSPSigning (RFC 6960 §4.2.2.2).
OID_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9"
#: Largest response read: one answer and a responder certificate are a few KB.
MAX_RESPONSE = 256 * 1024
#: How far a responder's clock may run ahead of ours (``thisUpdate`` in the future).
CLOCK_SKEW = datetime.timedelta(minutes=5)
NONCE_BYTES = 16

#: Signature algorithms of responses signed with ECDSA or RSA keys (the SM2 one is in :mod:`.sm2`).
_CLASSIC = {
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
    "1.2.840.113549.1.1.11": ("rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa", "sha512"),
}


class OcspError(GmError):
    """An OCSP response cannot be read, is not for our question, or is not to be trusted."""

    code = "gm.ocsp"


@dataclass(frozen=True)
class Outcome:
    """What OCSP says of one certificate: ``good``, ``revoked`` or ``unknown`` (with why)."""

    status: str
    reason: str = ""
    responder: str = ""  #: the URL that answered
    revoked_at: Optional[datetime.datetime] = None


@dataclass(frozen=True)
class Answer:
    """A response that verified: the status it gives and how long it holds."""

    status: str  # good, revoked, unknown
    this_update: datetime.datetime
    next_update: Optional[datetime.datetime]
    revoked_at: Optional[datetime.datetime]
    signer: str


def ocsp_urls(cert: Any) -> List[str]:
    """The ``id-ad-ocsp`` URLs of the certificate's Authority Information Access."""
    urls: List[str] = []
    try:
        for ext in cert["tbs_certificate"]["extensions"]:
            if ext["extn_id"].dotted != "1.3.6.1.5.5.7.1.1":
                continue
            for description in ext["extn_value"].parsed:
                if description["access_method"].dotted != "1.3.6.1.5.5.7.48.1":
                    continue
                location = description["access_location"]
                if location.name == "uniform_resource_identifier":
                    urls.append(str(location.native))
    except Exception:  # noqa: BLE001 - an unreadable extension names no responder
        return urls
    return urls


#: The hashes a ``CertID`` may use (we ask with SHA-1; a responder may answer with SM3 or
#: SHA-256, as some national-crypto responders do): OID → (asn1crypto name, function).
CERT_ID_HASHES: Dict[str, Tuple[str, Callable[[bytes], bytes]]] = {
    "1.3.14.3.2.26": ("sha1", lambda data: hashlib.sha1(data).digest()),
    "2.16.840.1.101.3.4.2.1": ("sha256", lambda data: hashlib.sha256(data).digest()),
    sm2.OID_SM3: (sm2.OID_SM3, sm3),
}


def cert_id(cert: Any, issuer: Any, algorithm: str = "1.3.14.3.2.26") -> Any:
    """The ``CertID`` of ``cert``: the hash (SHA-1 unless ``algorithm`` names another of
    :data:`CERT_ID_HASHES`) of the issuer's name and public key bits."""
    from asn1crypto import ocsp  # noqa: PLC0415

    name, digest = CERT_ID_HASHES[algorithm]
    issuer_tbs = issuer["tbs_certificate"]
    key_bits = bytes(issuer_tbs["subject_public_key_info"]["public_key"].contents[1:])
    return ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": name},
            "issuer_name_hash": digest(issuer_tbs["subject"].dump()),
            "issuer_key_hash": digest(key_bits),
            "serial_number": cert["tbs_certificate"]["serial_number"].native,
        }
    )


def build_request(cert: Any, issuer: Any, nonce: bytes) -> bytes:
    """A DER ``OCSPRequest`` for ``cert`` with the nonce extension."""
    from asn1crypto import ocsp  # noqa: PLC0415

    request = ocsp.OCSPRequest(
        {
            "tbs_request": {
                "request_list": [{"req_cert": cert_id(cert, issuer)}],
                "request_extensions": [
                    {"extn_id": "nonce", "critical": False, "extn_value": nonce}
                ],
            }
        }
    )
    return bytes(request.dump())


def check_response(
    data: bytes,
    cert: Any,
    issuer: Any,
    nonce: Optional[bytes],
    *,
    now: Optional[datetime.datetime] = None,
) -> Answer:
    """The verified answer for ``cert`` in the DER response ``data``; :class:`OcspError`
    (and nothing else, whatever the bytes) when it cannot be trusted. ``nonce``: the one
    our request carried (``None``: no nonce was asked for)."""
    try:
        return _check(data, cert, issuer, nonce, now or _utcnow())
    except OcspError:
        raise
    except GmError as err:
        raise OcspError(f"the OCSP response cannot be checked: {err}") from err
    except Exception as err:  # asn1crypto parses lazily: ValueError, TypeError, KeyError …
        raise OcspError(f"the OCSP response cannot be read ({type(err).__name__})") from err


def _check(
    data: bytes, cert: Any, issuer: Any, nonce: Optional[bytes], now: datetime.datetime
) -> Answer:
    from asn1crypto import ocsp  # noqa: PLC0415

    if len(data) > MAX_RESPONSE:
        raise OcspError("the OCSP response is too large")
    response = ocsp.OCSPResponse.load(data, strict=True)
    status = response["response_status"].native
    if status != "successful":
        raise OcspError(f"the OCSP responder answered {status!r}")
    body = response["response_bytes"]
    if body["response_type"].native != "basic_ocsp_response":
        raise OcspError("the OCSP response is not a basic response")
    basic = ocsp.BasicOCSPResponse.load(body["response"].contents, strict=True)
    tbs = basic["tbs_response_data"]
    signer = _signer(basic, issuer, now)
    if not _signed_by(basic, signer):
        raise OcspError(f"the OCSP response's signature does not verify ({certs.name(signer)})")
    if nonce is not None:
        _check_nonce(tbs, nonce)
    for single in tbs["responses"]:
        algorithm = single["cert_id"]["hash_algorithm"]["algorithm"].dotted
        if algorithm not in CERT_ID_HASHES:
            continue
        if not _same_id(single["cert_id"], cert_id(cert, issuer, algorithm)):
            continue
        this_update = single["this_update"].native
        next_update = single["next_update"].native
        if this_update > now + CLOCK_SKEW:
            raise OcspError(
                f"the OCSP answer is dated in the future ({this_update:%Y-%m-%d %H:%M})"
            )
        if next_update is not None and next_update < now:
            raise OcspError(f"the OCSP answer is stale (next update {next_update:%Y-%m-%d %H:%M})")
        state = single["cert_status"]
        revoked_at = state.chosen["revocation_time"].native if state.name == "revoked" else None
        return Answer(state.name, this_update, next_update, revoked_at, certs.name(signer))
    raise OcspError("the OCSP response does not answer for this certificate")


def _check_nonce(tbs: Any, nonce: bytes) -> None:
    theirs = None
    for ext in tbs["response_extensions"] or []:
        if ext["extn_id"].dotted == "1.3.6.1.5.5.7.48.1.2":
            theirs = _octets(ext["extn_value"].parsed)
    if theirs is None:
        raise OcspError("the OCSP response carries no nonce")
    if theirs != nonce:
        raise OcspError("the OCSP response's nonce is not the one asked with")


def _octets(value: Any) -> bytes:
    """The nonce's bytes: an OCTET STRING, or raw bytes some responders send unwrapped."""
    native = value.native if hasattr(value, "native") else value
    if isinstance(native, bytes):
        return native
    raise OcspError("the OCSP response's nonce is not an octet string")


def _same_id(theirs: Any, ours: Any) -> bool:
    return bool(
        theirs["hash_algorithm"]["algorithm"].dotted == ours["hash_algorithm"]["algorithm"].dotted
        and theirs["issuer_name_hash"].native == ours["issuer_name_hash"].native
        and theirs["issuer_key_hash"].native == ours["issuer_key_hash"].native
        and theirs["serial_number"].native == ours["serial_number"].native
    )


def _signer(basic: Any, issuer: Any, now: datetime.datetime) -> Any:
    """The issuer, or the delegated responder certificate the response carries."""
    responder = basic["tbs_response_data"]["responder_id"]
    if _names(responder, issuer):
        return issuer
    for candidate in basic["certs"] or []:
        if not _names(responder, candidate):
            continue
        if candidate["tbs_certificate"]["issuer"].dump() != issuer["tbs_certificate"][
            "subject"
        ].dump() or not _issued_by(candidate, issuer):
            raise OcspError(
                f"the OCSP responder {certs.name(candidate)!r} was not certified by"
                f" {certs.name(issuer)!r}"
            )
        if OID_OCSP_SIGNING not in _extended_usages(candidate):
            raise OcspError(
                f"the OCSP responder {certs.name(candidate)!r} is not certified for OCSP signing"
            )
        start, end = certs.validity(candidate)
        if not start <= now <= end:
            raise OcspError(f"the OCSP responder {certs.name(candidate)!r} is not valid now")
        return candidate
    raise OcspError(
        "the OCSP response is signed by neither the issuer nor a responder it certified"
    )


def _names(responder: Any, cert: Any) -> bool:
    if responder.name == "by_name":
        return bool(responder.chosen.untag().dump() == cert["tbs_certificate"]["subject"].dump())
    key_bits = bytes(cert["tbs_certificate"]["subject_public_key_info"]["public_key"].contents[1:])
    return bool(responder.chosen.native == hashlib.sha1(key_bits).digest())


def _issued_by(cert: Any, issuer: Any) -> bool:
    """``issuer`` (an SM2 seal authority) signed ``cert`` (an SM2, EC or RSA responder)."""
    try:
        return certs.check_signature(cert, issuer)
    except GmError:
        return False


def _extended_usages(cert: Any) -> List[str]:
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].dotted == "2.5.29.37":
            return [usage.dotted for usage in ext["extn_value"].parsed]
    return []


def _signed_by(basic: Any, signer: Any) -> bool:
    algorithm = basic["signature_algorithm"]["algorithm"].dotted
    signed = basic["tbs_response_data"].dump()
    signature = bytes(basic["signature"].native)
    if algorithm == sm2.OID_SM2_WITH_SM3:
        key = certs.public_key(signer)
        return any(sm2.verify(key, signed, signature, uid) for uid in certs.CERT_USER_IDS)
    if algorithm not in _CLASSIC:
        raise OcspError(f"the OCSP response's signature algorithm {algorithm} is not supported")
    return _classic_verify(_CLASSIC[algorithm], signer, signed, signature)


def _classic_verify(kind: Tuple[str, str], signer: Any, signed: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: PLC0415

    digests: Dict[str, hashes.HashAlgorithm] = {
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }
    digest = digests[kind[1]]
    try:
        public = serialization.load_der_public_key(
            signer["tbs_certificate"]["subject_public_key_info"].dump()
        )
    except (ValueError, TypeError) as err:
        raise OcspError(f"the OCSP responder's key cannot be read: {err}") from err
    try:
        if kind[0] == "ecdsa" and isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, signed, ec.ECDSA(digest))
        elif kind[0] == "rsa" and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, signed, padding.PKCS1v15(), digest)
        else:
            raise OcspError("the OCSP response's algorithm does not fit the responder's key")
    except InvalidSignature:
        return False
    return True


# -- asking ---------------------------------------------------------------------------------

#: post(url, request DER, timeout) -> response DER.
Poster = Callable[[str, bytes, float], bytes]


def http_post(url: str, request: bytes, timeout: float) -> bytes:
    """POST an OCSP request (RFC 6960 Appendix A.1); the response's bytes."""
    prepared = urllib.request.Request(
        url, data=request, headers={"Content-Type": "application/ocsp-request"}, method="POST"
    )
    with urllib.request.urlopen(prepared, timeout=timeout) as response:
        data = bytes(response.read(MAX_RESPONSE + 1))
    if len(data) > MAX_RESPONSE:
        raise OcspError("the OCSP response is too large")
    return data


@dataclass
class OcspChecker:
    """Asks responders about certificates, remembering answers until their ``nextUpdate``.

    ``responders``: URLs asked for every certificate (``[seal] ocsp_responders``);
    ``use_aia``: also the certificate's own ``id-ad-ocsp`` URLs (``[seal] ocsp``).
    Thread-safe: verifications run in an executor's threads.
    """

    responders: Sequence[str] = ()
    use_aia: bool = False
    timeout: float = 3.0
    poster: Optional[Poster] = None
    _cache: Dict[Tuple[bytes, int], Tuple[Answer, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: Requests sent (what a test counts to see the cache at work).
    asked: int = 0
    #: Seconds a responder that could not be reached is not asked again: a seal's chain has
    #: two or three certificates and the flow's ``seal_timeout`` is 10 s, so a black-holed
    #: responder costs one ``timeout`` per document, not one per certificate.
    retry_after: float = 30.0
    _down: Dict[str, float] = field(default_factory=dict, repr=False)

    def urls(self, cert: Any) -> List[str]:
        found = list(self.responders)
        if self.use_aia:
            found.extend(u for u in ocsp_urls(cert) if u not in found)
        return [u for u in found if u.startswith("http://")]

    def __call__(self, cert: Any, issuer: Any) -> Outcome:
        """What OCSP says of ``cert``; ``unknown`` with the reason when nothing decided."""
        urls = self.urls(cert)
        if not urls:
            return Outcome("unknown", "no OCSP responder for it")
        key = (
            hashlib.sha256(issuer["tbs_certificate"]["subject_public_key_info"].dump()).digest(),
            int(cert["tbs_certificate"]["serial_number"].native),
        )
        now = _utcnow()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            answer, url = cached
            if answer.next_update is not None and now <= answer.next_update:
                return Outcome(answer.status, "", url, answer.revoked_at)
        reasons: List[str] = []
        for url in urls:
            with self._lock:
                down_until = self._down.get(url, 0.0)
            if time.monotonic() < down_until:
                reasons.append(f"OCSP {url} unreachable (not asked again for a while)")
                continue
            nonce = secrets.token_bytes(NONCE_BYTES)
            try:
                request = build_request(cert, issuer, nonce)
                with self._lock:
                    self.asked += 1
                data = (self.poster or http_post)(url, request, self.timeout)
            except Exception as err:  # noqa: BLE001 - any network failure is "unreachable"
                with self._lock:
                    self._down[url] = time.monotonic() + self.retry_after
                reasons.append(f"OCSP {url} unreachable: {type(err).__name__}")
                continue
            try:
                answer = check_response(data, cert, issuer, nonce)
            except OcspError as err:
                reasons.append(f"OCSP {url}: {err}")
                continue
            if answer.status == "unknown":
                reasons.append(f"OCSP {url}: the responder does not know the certificate")
                continue
            if answer.next_update is not None:
                with self._lock:
                    self._cache[key] = (answer, url)
            return Outcome(answer.status, "", url, answer.revoked_at)
        return Outcome("unknown", "; ".join(reasons))


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


# -- answering (tests and the demo) ---------------------------------------------------------


def request_of(data: bytes) -> Tuple[int, Optional[bytes]]:
    """(serial, nonce) of a DER OCSP request with one certificate (a test responder's read)."""
    from asn1crypto import ocsp  # noqa: PLC0415

    try:
        request = ocsp.OCSPRequest.load(data, strict=True)
        tbs = request["tbs_request"]
        serial = int(tbs["request_list"][0]["req_cert"]["serial_number"].native)
        nonce = None
        for ext in tbs["request_extensions"] or []:
            if ext["extn_id"].dotted == "1.3.6.1.5.5.7.48.1.2":
                nonce = _octets(ext["extn_value"].parsed)
    except OcspError:
        raise
    except Exception as err:
        raise OcspError("not an OCSP request") from err
    return serial, nonce


def make_response(
    cert: Any,
    issuer: Any,
    signer: certs.Issued,
    status: str = "good",
    *,
    nonce: Optional[bytes] = None,
    this_update: Optional[datetime.datetime] = None,
    next_update: Optional[datetime.datetime] = None,
    revoked_at: Optional[datetime.datetime] = None,
    include: Sequence[Any] = (),
    signed_by_name: Optional[Any] = None,
    sign: Optional[Callable[[bytes], Tuple[str, bytes]]] = None,
    cert_id_hash: str = "1.3.14.3.2.26",
) -> bytes:
    """A DER ``OCSPResponse`` for ``cert`` by ``signer`` (the issuer, or a responder
    certificate it issued, which goes along in ``include``), SM2-signed with
    ``signer.key`` — or by ``sign(tbs) -> (algorithm OID, signature)`` (an ECDSA or RSA
    responder's key)."""
    from asn1crypto import core, ocsp  # noqa: PLC0415

    now = _utcnow().replace(microsecond=0)
    if status == "revoked":
        cert_status = ocsp.CertStatus(
            name="revoked",
            value={"revocation_time": revoked_at or now - datetime.timedelta(minutes=5)},
        )
    else:
        cert_status = ocsp.CertStatus(name=status, value=core.Null())
    subject = signed_by_name or signer.certificate["tbs_certificate"]["subject"]
    extensions = (
        [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
        if nonce is not None
        else None
    )
    tbs = ocsp.ResponseData(
        {
            "responder_id": ocsp.ResponderId(name="by_name", value=subject),
            "produced_at": now,
            "responses": [
                {
                    "cert_id": cert_id(cert, issuer, cert_id_hash),
                    "cert_status": cert_status,
                    "this_update": this_update or now,
                    "next_update": next_update or now + datetime.timedelta(hours=1),
                }
            ],
            "response_extensions": extensions,
        }
    )
    algorithm, signature = (
        sign(tbs.dump())
        if sign is not None
        else (sm2.OID_SM2_WITH_SM3, sm2.sign(signer.key, tbs.dump(), der=True))
    )
    basic = ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": tbs,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": signature,
            "certs": list(include) or None,
        }
    )
    return bytes(
        ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
            }
        ).dump()
    )
