"""Electronic seal structures: ``SES_Seal`` and ``SES_Signature`` (§7.2 a, GB/T 33481).

Two versions are in use and both are read:

- **v1**, GM/T 0031-2014: ``SES_Seal ::= SEQUENCE { esealInfo SES_SealInfo, signInfo
  SES_SignInfo { cert OCTET STRING, signatureAlgorithm OID, signData BIT STRING } }``; the
  maker signs the DER of ``SEQUENCE { esealInfo, cert, signatureAlgorithm }``.
  ``TBS_Sign ::= SEQUENCE { version, eseal, timeInfo BIT STRING (the time as text),
  dataHash BIT STRING, propertyInfo IA5String, cert OCTET STRING, signatureAlgorithm OID }``;
  ``SES_Signature ::= SEQUENCE { toSign, signature BIT STRING }``.
- **v4**, GB/T 38540-2020: ``SES_Seal ::= SEQUENCE { eSealInfo, cert OCTET STRING,
  signAlgID OID, signedValue BIT STRING }``; the maker signs the DER of ``eSealInfo`` (what
  ofdrw and the two government seal-making systems behind the fixtures — Shandong's and the
  State Taxation Administration's — all write).
  ``TBS_Sign ::= SEQUENCE { version, eseal, timeInfo GeneralizedTime, dataHash BIT STRING,
  propertyInfo IA5String, extDatas [0] EXPLICIT OPTIONAL }``; ``SES_Signature ::= SEQUENCE
  { toSign, cert OCTET STRING, signatureAlgID OID, signature BIT STRING, timeStamp [0]
  EXPLICIT BIT STRING OPTIONAL }``.

``SES_SealInfo ::= SEQUENCE { header { ID "ES", version, vid }, esID IA5String, property
{ type, name, [v4: certListType], certList, createDate, validStart, validEnd }, picture
{ type, data, width, height }, extDatas OPTIONAL }``. v1 dates are UTCTime, v4 dates
GeneralizedTime; either is read in either. In v4 ``certListType`` 1 lists certificates,
2 lists ``{ type, value }`` digests of them.

The signer signs the DER of ``toSign`` with SM2 (signatures DER or raw ``r || s``, both
found in the fixtures); ``dataHash`` is the SM3 of the protected data — for OFD, the bytes
of the signature's ``Signature.xml`` (GB/T 33190 §18; ofdrw's ``SESV4Container``).

:func:`parse_seal` and :func:`parse_signature` raise only :class:`MalformedSealError`, for
any bytes; they parse eagerly, so a structure they return is whole.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

from asn1crypto import core, x509

from .errors import MalformedSealError

#: The largest seal or signed value read (the fixtures' are 6-18 KB, mostly the picture).
MAX_SES = 4 * 1024 * 1024

V1_FORMAT = "SES v1 (GM/T 0031-2014)"
V4_FORMAT = "SES v4 (GB/T 38540-2020)"


# -- ASN.1 ----------------------------------------------------------------------------------


class _Header(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class _Picture(core.Sequence):
    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class _ExtData(core.Sequence):
    _fields = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class _ExtDatas(core.SequenceOf):
    _child_spec = _ExtData


class _Certs(core.SequenceOf):
    _child_spec = core.OctetString


class _CertDigest(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class _CertDigests(core.SequenceOf):
    _child_spec = _CertDigest


class _PropertyV1(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list", _Certs),
        ("create_date", x509.Time),
        ("valid_start", x509.Time),
        ("valid_end", x509.Time),
    ]


class _PropertyV4(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),
        ("create_date", x509.Time),
        ("valid_start", x509.Time),
        ("valid_end", x509.Time),
    ]


class _SealInfo(core.Sequence):
    _fields = [
        ("header", _Header),
        ("es_id", core.IA5String),
        ("property", core.Any),
        ("picture", _Picture),
        ("ext_datas", _ExtDatas, {"optional": True}),
    ]


class _SignInfoV1(core.Sequence):
    _fields = [
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
        ("sign_data", core.BitString),
    ]


class _SealV1(core.Sequence):
    _fields = [("eseal_info", _SealInfo), ("sign_info", _SignInfoV1)]


class _SealV4(core.Sequence):
    _fields = [
        ("eseal_info", _SealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.BitString),
    ]


class _TbsV1(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", core.Any),
        ("time_info", core.OctetBitString),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
    ]


class _TbsV4(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", core.Any),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", _ExtDatas, {"explicit": 0, "optional": True}),
    ]


class _SignatureV1(core.Sequence):
    _fields = [("to_sign", _TbsV1), ("signature", core.OctetBitString)]


class _SignatureV4(core.Sequence):
    _fields = [
        ("to_sign", _TbsV4),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


# -- the structures -------------------------------------------------------------------------


@dataclass(frozen=True)
class SealPicture:
    """The seal's image: ``type`` (``PNG``, ``JPG``, ``GIF``, ``BMP``, ``SVG``, ``OFD``),
    its bytes, and its size on the page in millimetres."""

    type: str
    data: bytes = field(repr=False)
    width_mm: int
    height_mm: int


@dataclass(frozen=True)
class Extension:
    oid: str
    critical: bool
    value: bytes = field(repr=False)


@dataclass(frozen=True)
class Seal:
    """An ``SES_Seal`` (the seal as its maker issued it)."""

    version: int  # 1 or 4 (the header's)
    vid: str  # the maker's vendor id
    es_id: str  # the seal's code
    type: int  # 1 official seal (公章), 2 special-purpose, … as the maker numbers them
    name: str
    #: DER of the certificates of those who may sign with the seal (cert list type 1)
    certs: Tuple[bytes, ...] = field(repr=False)
    #: ``(digest algorithm text, digest)`` of those certificates (v4 cert list type 2)
    cert_digests: Tuple[Tuple[str, bytes], ...]
    created: datetime.datetime
    valid_start: datetime.datetime
    valid_end: datetime.datetime
    picture: SealPicture
    extensions: Tuple[Extension, ...]
    maker_cert: bytes = field(repr=False)
    signature_algorithm: str
    maker_signature: bytes = field(repr=False)
    #: what the maker's signature signs (one reading per version, see the module)
    maker_signed: Tuple[bytes, ...] = field(repr=False)
    der: bytes = field(repr=False)

    @property
    def format(self) -> str:
        return V1_FORMAT if self.version == 1 else V4_FORMAT


@dataclass(frozen=True)
class SealSignature:
    """An ``SES_Signature`` (one use of a seal on a document)."""

    version: int  # 1 or 4 (the structure's shape)
    seal: Seal
    #: when the signer says it signed (v4 GeneralizedTime; v1 the text, read if it can be)
    signed_at: Optional[datetime.datetime]
    time_text: str
    data_hash: bytes
    property_info: str  # for OFD: the path of the Signature.xml signed
    signer_cert: bytes = field(repr=False)
    signature_algorithm: str
    signature: bytes = field(repr=False)
    to_sign: bytes = field(repr=False)  # the DER the signature signs
    timestamp: Optional[bytes] = field(repr=False)  # v4: an RFC 3161 token, if any
    extensions: Tuple[Extension, ...]

    @property
    def format(self) -> str:
        return V1_FORMAT if self.version == 1 else V4_FORMAT


# -- parsing --------------------------------------------------------------------------------


def parse_seal(data: bytes) -> Seal:
    """An ``SES_Seal`` (v1 or v4) from its DER; :class:`MalformedSealError` otherwise."""
    _check_size(data, "seal")
    try:
        return _seal(data)
    except MalformedSealError:
        raise
    except Exception as err:  # asn1crypto raises ValueError, TypeError, OverflowError, …
        raise MalformedSealError(f"the seal is not an SES_Seal: {_why(err)}") from err


def parse_signature(data: bytes) -> SealSignature:
    """An ``SES_Signature`` (v1 or v4) from its DER (an OFD's ``SignedValue.dat``)."""
    _check_size(data, "signed value")
    try:
        return _signature(data)
    except MalformedSealError:
        raise
    except Exception as err:  # asn1crypto raises ValueError, TypeError, OverflowError, …
        raise MalformedSealError(f"the signed value is not an SES_Signature: {_why(err)}") from err


def _check_size(data: bytes, what: str) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise MalformedSealError(f"the {what} is not bytes")
    if len(data) > MAX_SES:
        raise MalformedSealError(f"the {what} is larger than {MAX_SES // 1024} KB")
    if len(data) < 2 or data[0] != 0x30:
        raise MalformedSealError(f"the {what} is not a DER SEQUENCE")


def _why(err: Exception) -> str:
    return str(err).splitlines()[0][:160] if str(err) else type(err).__name__


def _elements(data: bytes) -> int:
    outer = core.Sequence.load(data, strict=True)
    return len(outer)


def _seal(data: bytes) -> Seal:
    count = _elements(data)
    if count == 2:
        v1 = _SealV1.load(data, strict=True)
        info = v1["eseal_info"]
        sign_info = v1["sign_info"]
        cert = bytes(sign_info["cert"].native)
        algorithm = sign_info["signature_algorithm"].dotted
        signature = _bits(sign_info["sign_data"])
        signed = (
            _sequence(
                info.dump() + sign_info["cert"].dump() + sign_info["signature_algorithm"].dump()
            ),
        )
        version = 1
    elif count == 4:
        v4 = _SealV4.load(data, strict=True)
        info = v4["eseal_info"]
        cert = bytes(v4["cert"].native)
        algorithm = v4["sign_alg_id"].dotted
        signature = _bits(v4["signed_value"])
        signed = (info.dump(),)
        version = 4
    else:
        raise MalformedSealError(f"an SES_Seal has 2 (v1) or 4 (v4) parts, not {count}")
    header = info["header"]
    if header["id"].native != "ES":
        raise MalformedSealError(f"the seal header's ID is {header['id'].native!r}, not 'ES'")
    declared = int(header["version"].native)
    if (declared >= 4) != (version == 4):
        raise MalformedSealError(f"a v{version} seal structure declares version {declared}")
    prop_der = info["property"].dump()
    certs: Tuple[bytes, ...] = ()
    digests: Tuple[Tuple[str, bytes], ...] = ()
    if _elements(prop_der) == 6:
        prop = _PropertyV1.load(prop_der, strict=True)
        certs = tuple(bytes(c.native) for c in prop["cert_list"])
    else:
        prop = _PropertyV4.load(prop_der, strict=True)
        list_type = int(prop["cert_list_type"].native)
        list_der = prop["cert_list"].dump()
        if list_type == 1:
            certs = tuple(bytes(c.native) for c in _Certs.load(list_der, strict=True))
        elif list_type == 2:
            digests = tuple(
                (str(d["type"].native), bytes(d["value"].native))
                for d in _CertDigests.load(list_der, strict=True)
            )
        else:
            raise MalformedSealError(f"the seal's cert list type is {list_type}, not 1 or 2")
    picture = info["picture"]
    return Seal(
        version=version,
        vid=str(header["vid"].native),
        es_id=str(info["es_id"].native),
        type=int(prop["type"].native),
        name=str(prop["name"].native),
        certs=certs,
        cert_digests=digests,
        created=_time(prop["create_date"]),
        valid_start=_time(prop["valid_start"]),
        valid_end=_time(prop["valid_end"]),
        picture=SealPicture(
            type=str(picture["type"].native),
            data=bytes(picture["data"].native),
            width_mm=int(picture["width"].native),
            height_mm=int(picture["height"].native),
        ),
        extensions=_extensions(info["ext_datas"]),
        maker_cert=cert,
        signature_algorithm=algorithm,
        maker_signature=signature,
        maker_signed=signed,
        der=bytes(data),
    )


def _signature(data: bytes) -> SealSignature:
    outer = core.Sequence.load(data, strict=True)
    if len(outer) == 2:
        v1 = _SignatureV1.load(data, strict=True)
        tbs = v1["to_sign"]
        seal = _seal(tbs["eseal"].dump())
        time_text = bytes(tbs["time_info"].native).decode("utf-8", "replace")
        return SealSignature(
            version=1,
            seal=seal,
            signed_at=_parse_text_time(time_text),
            time_text=time_text,
            data_hash=bytes(tbs["data_hash"].native),
            property_info=str(tbs["property_info"].native),
            signer_cert=bytes(tbs["cert"].native),
            signature_algorithm=tbs["signature_algorithm"].dotted,
            signature=bytes(v1["signature"].native),
            to_sign=tbs.dump(),
            timestamp=None,
            extensions=(),
        )
    if len(outer) in (4, 5):
        v4 = _SignatureV4.load(data, strict=True)
        tbs = v4["to_sign"]
        seal = _seal(tbs["eseal"].dump())
        signed_at = tbs["time_info"].native
        stamp = v4["time_stamp"]
        return SealSignature(
            version=4,
            seal=seal,
            signed_at=signed_at,
            time_text=signed_at.isoformat(),
            data_hash=bytes(tbs["data_hash"].native),
            property_info=str(tbs["property_info"].native),
            signer_cert=bytes(v4["cert"].native),
            signature_algorithm=v4["signature_alg_id"].dotted,
            signature=bytes(v4["signature"].native),
            to_sign=tbs.dump(),
            timestamp=None if isinstance(stamp, core.Void) else bytes(stamp.native),
            extensions=_extensions(tbs["ext_datas"]),
        )
    raise MalformedSealError(f"an SES_Signature has 2 (v1) or 4-5 (v4) parts, not {len(outer)}")


def _bits(value: Any) -> bytes:
    contents = bytes(value.contents)
    if not contents or contents[0] != 0:
        raise MalformedSealError("a signature bit string has unused bits")
    return contents[1:]


def _sequence(body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        header = bytes([0x30, length])
    else:
        size = (length.bit_length() + 7) // 8
        header = bytes([0x30, 0x80 | size]) + length.to_bytes(size, "big")
    return header + body


def _time(value: Any) -> datetime.datetime:
    native = value.native
    if not isinstance(native, datetime.datetime):
        raise MalformedSealError("a seal date is not a date")
    if native.tzinfo is None:
        native = native.replace(tzinfo=datetime.timezone.utc)
    return native


def _extensions(value: Any) -> Tuple[Extension, ...]:
    if isinstance(value, core.Void):
        return ()
    return tuple(
        Extension(e["extn_id"].dotted, bool(e["critical"].native), bytes(e["extn_value"].native))
        for e in value
    )


def _parse_text_time(text: str) -> Optional[datetime.datetime]:
    """v1's time is free text: ``yyyy-MM-dd HH:mm:ss`` (ofdrw, local time: read as +08:00)
    or an ASN.1 time string; None if it is neither."""
    china = datetime.timezone(datetime.timedelta(hours=8))
    for pattern, zone in (
        ("%Y-%m-%d %H:%M:%S", china),
        ("%Y%m%d%H%M%SZ", datetime.timezone.utc),
        ("%y%m%d%H%M%SZ", datetime.timezone.utc),
    ):
        try:
            return datetime.datetime.strptime(text.strip(), pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    return None
