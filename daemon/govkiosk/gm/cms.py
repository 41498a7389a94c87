"""CMS ``SignedData`` signed with SM2 over SM3 (GM/T 0010, GB/T 35275): PDF signatures with
SM2 keys, GB/T 35275 digital signatures on OFD, and RFC 3161 time-stamp tokens.

:func:`verify_signed_data` checks one signer: its certificate (found in the structure by
issuer and serial number, or subject key identifier), the SM3 digest of the signed content
in the ``messageDigest`` signed attribute, and the SM2 signature over the DER ``SET`` of the
signed attributes (or over the content itself when there are none). Both content type
families are read: PKCS #7 ``1.2.840.113549.1.7.2`` and GM/T 0010 ``1.2.156.10197.6.1.4.2.2``.
It raises :class:`CmsError` (a :class:`GmError`) with the reason; trust in the signer's
certificate is the caller's (:func:`.certs.validate_chain`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

from . import certs, sm2
from .errors import GmError
from .sm3 import sm3

#: The largest CMS structure read (a PDF's /Contents is usually 8-32 KB).
MAX_CMS = 1024 * 1024

SIGNED_DATA_OIDS = ("1.2.840.113549.1.7.2", "1.2.156.10197.6.1.4.2.2")
#: Signature algorithm identifiers found in SM2 SignerInfos.
SM2_SIGNATURE_OIDS = (sm2.OID_SM2_WITH_SM3, sm2.OID_SM2, "1.2.156.10197.1.301.1")
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_TIME = "1.2.840.113549.1.9.5"


class CmsError(GmError):
    """The CMS structure cannot be read, or its signature does not verify."""

    code = "gm.cms"

    def __init__(self, message: str, *, kind: str = "malformed") -> None:
        super().__init__(message)
        #: ``malformed``, ``digest`` (the content's digest differs), ``signature``,
        #: ``algorithm`` (not SM2/SM3)
        self.kind = kind


@dataclass(frozen=True)
class SignedDataInfo:
    """What a verified ``SignedData`` says."""

    signer: Any  # asn1crypto x509.Certificate
    certificates: List[Any] = field(repr=False)
    signing_time: Optional[datetime.datetime]
    #: the encapsulated content (eContent), when the structure carries it
    content: Optional[bytes] = field(repr=False)
    content_type: str = ""


def parse_signed_data(data: bytes) -> Any:
    """The ``asn1crypto.cms.SignedData`` inside a ``ContentInfo`` (either OID family)."""
    from asn1crypto import cms  # noqa: PLC0415

    if len(data) > MAX_CMS:
        raise CmsError("the signature structure is too large")
    inner = _signed_data_bytes(bytes(data))
    try:
        signed = cms.SignedData.load(inner, strict=True)
        len(signed["signer_infos"])  # parse the signers now: errors belong here
    except Exception as err:  # asn1crypto raises ValueError, TypeError, …
        raise CmsError("the signature is not a readable CMS SignedData") from err
    return signed


def _signed_data_bytes(data: bytes) -> bytes:
    """The SignedData DER inside a ContentInfo, read by hand: asn1crypto's ContentInfo
    knows only the PKCS #7 content types, not GM/T 0010's."""
    from asn1crypto import core  # noqa: PLC0415

    tag, body, end = _tlv(data, 0)
    if tag != 0x30 or end != len(data.rstrip(b"\x00")):
        raise CmsError("the signature is not one DER ContentInfo")
    tag, _, after_oid = _tlv(data, body)
    if tag != 0x06:
        raise CmsError("the ContentInfo has no content type")
    try:
        kind = core.ObjectIdentifier.load(data[body:after_oid]).dotted
    except Exception as err:  # asn1crypto raises ValueError, TypeError, …
        raise CmsError("the ContentInfo's content type cannot be read") from err
    if kind not in SIGNED_DATA_OIDS:
        raise CmsError(f"the signature is a CMS {kind}, not SignedData")
    tag, inner, inner_end = _tlv(data, after_oid)
    if tag != 0xA0:
        raise CmsError("the SignedData is not in the ContentInfo's [0] EXPLICIT")
    return data[inner:inner_end]


def _tlv(data: bytes, offset: int) -> Tuple[int, int, int]:
    """(tag byte, offset of the contents, offset after them) of the DER element at offset."""
    if offset + 2 > len(data):
        raise CmsError("the signature structure is truncated")
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or start + size > len(data):
            raise CmsError("the signature structure has a bad length")
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    if start + length > len(data):
        raise CmsError("the signature structure is truncated")
    return tag, start, start + length


def verify_signed_data(data: bytes, detached: Optional[bytes] = None) -> SignedDataInfo:
    """Verify the first SignerInfo of the ``ContentInfo`` ``data`` over its encapsulated
    content, or over ``detached`` when it has none (a PDF's byte ranges)."""
    signed = parse_signed_data(data)
    try:
        return _verify(signed, detached)
    except CmsError:
        raise
    except Exception as err:  # a well-formed but odd structure: still the caller's error
        raise CmsError("the signature's structure is not as CMS requires") from err


def _verify(signed: Any, detached: Optional[bytes]) -> SignedDataInfo:
    encap = signed["encap_content_info"]
    e_content = encap["content"]
    content = None if e_content.native is None else _octets(e_content)
    message = content if content is not None else detached
    if message is None:
        raise CmsError("the signature is detached and no content was given")
    signer_infos = signed["signer_infos"]
    if len(signer_infos) == 0:
        raise CmsError("the signature has no signer")
    signer_info = signer_infos[0]
    digest_algorithm = signer_info["digest_algorithm"]["algorithm"].dotted
    if digest_algorithm != sm2.OID_SM3:
        raise CmsError(f"the digest algorithm is {digest_algorithm}, not SM3", kind="algorithm")
    signature_algorithm = signer_info["signature_algorithm"]["algorithm"].dotted
    if signature_algorithm not in SM2_SIGNATURE_OIDS:
        raise CmsError(
            f"the signature algorithm is {signature_algorithm}, not SM2", kind="algorithm"
        )
    all_certs = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
    signer = _find_signer(signer_info["sid"], all_certs)
    key = certs.public_key(signer)
    signing_time = None
    attrs = signer_info["signed_attrs"]
    if attrs.native is not None and len(attrs) > 0:
        digest = None
        for attr in attrs:
            oid = attr["type"].dotted
            if oid == _MESSAGE_DIGEST:
                digest = bytes(attr["values"][0].native)
            elif oid == _SIGNING_TIME:
                signing_time = attr["values"][0].native
        if digest is None:
            raise CmsError("the signed attributes carry no message digest")
        if digest != sm3(message):
            raise CmsError("the signed content's SM3 digest does not match", kind="digest")
        to_verify = b"\x31" + attrs.dump()[1:]  # [0] IMPLICIT → the SET the signer signed
    else:
        to_verify = message
    signature = bytes(signer_info["signature"].native)
    if not sm2.verify(key, to_verify, signature):
        raise CmsError("the SM2 signature does not verify", kind="signature")
    return SignedDataInfo(
        signer=signer,
        certificates=all_certs,
        signing_time=signing_time,
        content=content,
        content_type=encap["content_type"].dotted,
    )


def _octets(value: Any) -> bytes:
    parsed = value.parsed if hasattr(value, "parsed") else value
    native = parsed.native
    if isinstance(native, bytes):
        return native
    return bytes(value.contents)


def _find_signer(sid: Any, candidates: List[Any]) -> Any:
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        for cert in candidates:
            tbs = cert["tbs_certificate"]
            if tbs["serial_number"].native == serial and tbs["issuer"].dump() == issuer.dump():
                return cert
    else:
        wanted = sid.chosen.native
        for cert in candidates:
            if cert.key_identifier == wanted:
                return cert
    raise CmsError("the signer's certificate is not in the signature")


@dataclass(frozen=True)
class Timestamp:
    """An RFC 3161 time-stamp token as read: when, by whom, and what was checked."""

    time: datetime.datetime
    authority: str
    imprint_ok: bool  # its message imprint is the digest of what it stamps
    signature_ok: bool  # the authority's SM2 signature verifies (False: not SM2, or bad)
    note: str
    #: the authority's certificate when its signature verified (for the caller's trust)
    signer: Any = field(default=None, repr=False, compare=False)
    certificates: List[Any] = field(default_factory=list, repr=False, compare=False)


def read_timestamp(token: bytes, stamped: bytes) -> Timestamp:
    """Read a time-stamp token over ``stamped`` (for SES v4: the signature value).
    The imprint is compared with SM3 (or SHA-256/SHA-1 when the token names them); the
    authority's signature is verified when it is SM2. :class:`CmsError` if unreadable."""
    import hashlib  # noqa: PLC0415

    from asn1crypto import tsp  # noqa: PLC0415

    signed = parse_signed_data(token)
    try:
        econtent = signed["encap_content_info"]["content"]
        tst = tsp.TSTInfo.load(_octets(econtent))
        time = tst["gen_time"].native
        imprint = tst["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].dotted
        hashed = bytes(imprint["hashed_message"].native)
    except Exception as err:  # asn1crypto raises ValueError, TypeError, …
        raise CmsError("the time stamp is not an RFC 3161 token") from err
    if algorithm == sm2.OID_SM3:
        expected: Optional[bytes] = sm3(stamped)
    elif algorithm == "2.16.840.1.101.3.4.2.1":
        expected = hashlib.sha256(stamped).digest()
    elif algorithm == "1.3.14.3.2.26":
        expected = hashlib.sha1(stamped).digest()  # a token may name it: read, not made
    else:
        expected = None
    imprint_ok = expected is not None and expected == hashed
    authority = "unknown"
    note = ""
    signer = None
    found: List[Any] = []
    try:
        info = verify_signed_data(token)
        authority = certs.name(info.signer)
        signer, found = info.signer, info.certificates
    except GmError as err:
        note = f"the time-stamp authority's signature is not verified: {err}"
    return Timestamp(
        time=time,
        authority=authority,
        imprint_ok=imprint_ok,
        signature_ok=signer is not None,
        note=note,
        signer=signer,
        certificates=found,
    )
