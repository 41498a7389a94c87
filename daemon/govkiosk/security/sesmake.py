"""Making SES seals and signatures (v1 and v4) and SM2-signed PDFs: for tests and the
demo department's test seal authority only. A kiosk verifies seals; it never makes one.

The structures are those :mod:`.ses` reads, signed the way :mod:`.sesverify` checks;
:func:`sign_pdf` writes the CMS (GM/T 0010: SM3 digest, SM2 signature, PKCS #7 content
types as PDF readers expect) into a pyHanko signature placeholder.
"""

from __future__ import annotations

import datetime
import io
from typing import Any, Optional, Sequence

from asn1crypto import core, x509

from ..gm import sm2
from ..gm.certs import Issued, fingerprint
from ..gm.sm3 import sm3
from . import ses

_CHINA = datetime.timezone(datetime.timedelta(hours=8))


def make_seal(
    *,
    maker: Issued,
    signers: Sequence[Any],
    name: str,
    es_id: str,
    picture: bytes,
    valid_start: datetime.datetime,
    valid_end: datetime.datetime,
    version: int = 4,
    picture_type: str = "PNG",
    width_mm: int = 40,
    height_mm: int = 40,
    seal_type: int = 1,
    vid: str = "GOVKIOSK",
    digest_list: bool = False,
) -> bytes:
    """The DER of an ``SES_Seal`` listing ``signers`` (certificates; by SM3 digest when
    ``digest_list``, v4 only), signed by ``maker``."""
    if version not in (1, 4):
        raise ValueError("SES versions are 1 and 4")
    kind = "utc_time" if version == 1 else "general_time"
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def when(value: datetime.datetime) -> x509.Time:
        return x509.Time(name=kind, value=value.astimezone(datetime.timezone.utc))

    cert_ders = [c.dump() for c in signers]
    if version == 1:
        prop: core.Sequence = ses._PropertyV1(
            {
                "type": seal_type,
                "name": name,
                "cert_list": cert_ders,
                "create_date": when(now),
                "valid_start": when(valid_start),
                "valid_end": when(valid_end),
            }
        )
    else:
        if digest_list:
            listed: core.Asn1Value = ses._CertDigests(
                [{"type": "SM3", "value": fingerprint(c)} for c in signers]
            )
        else:
            listed = ses._Certs(cert_ders)
        prop = ses._PropertyV4(
            {
                "type": seal_type,
                "name": name,
                "cert_list_type": 2 if digest_list else 1,
                "cert_list": core.Any.load(listed.dump()),
                "create_date": when(now),
                "valid_start": when(valid_start),
                "valid_end": when(valid_end),
            }
        )
    info = ses._SealInfo(
        {
            "header": {"id": "ES", "version": version, "vid": vid},
            "es_id": es_id,
            "property": core.Any.load(prop.dump()),
            "picture": {
                "type": picture_type,
                "data": picture,
                "width": width_mm,
                "height": height_mm,
            },
        }
    )
    cert = core.OctetString(maker.certificate.dump())
    algorithm = core.ObjectIdentifier(sm2.OID_SM2_WITH_SM3)
    if version == 1:
        signed = ses._sequence(info.dump() + cert.dump() + algorithm.dump())
        signature = sm2.sign(maker.key, signed)
        return bytes(
            ses._SealV1(
                {
                    "eseal_info": info,
                    "sign_info": {
                        "cert": maker.certificate.dump(),
                        "signature_algorithm": sm2.OID_SM2_WITH_SM3,
                        "sign_data": _bits(signature),
                    },
                }
            ).dump()
        )
    signature = sm2.sign(maker.key, info.dump())
    return bytes(
        ses._SealV4(
            {
                "eseal_info": info,
                "cert": maker.certificate.dump(),
                "sign_alg_id": sm2.OID_SM2_WITH_SM3,
                "signed_value": _bits(signature),
            }
        ).dump()
    )


def make_signature(
    *,
    seal: bytes,
    signer: Issued,
    protected: bytes,
    property_info: str,
    signed_at: Optional[datetime.datetime] = None,
    raw_signature: bool = False,
    timestamp: Optional[bytes] = None,
    timestamp_authority: Optional[Issued] = None,
    timestamp_time: Optional[datetime.datetime] = None,
) -> bytes:
    """The DER of an ``SES_Signature`` (the seal's version) by ``signer`` over
    ``protected`` (for OFD: the Signature.xml bytes; ``property_info`` its path). v4 only:
    ``timestamp_authority`` stamps the signature value; ``timestamp`` puts given bytes."""
    parsed = ses.parse_seal(seal)
    when = (signed_at or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    data_hash = sm3(protected)
    eseal = core.Any.load(seal)
    if parsed.version == 1:
        text = when.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S").encode()
        tbs1 = ses._TbsV1(
            {
                "version": 1,
                "eseal": eseal,
                "time_info": text,
                "data_hash": data_hash,
                "property_info": property_info,
                "cert": signer.certificate.dump(),
                "signature_algorithm": sm2.OID_SM2_WITH_SM3,
            }
        )
        value = sm2.sign(signer.key, tbs1.dump(), der=not raw_signature)
        return bytes(ses._SignatureV1({"to_sign": tbs1, "signature": value}).dump())
    tbs4 = ses._TbsV4(
        {
            "version": 4,
            "eseal": eseal,
            "time_info": when.astimezone(datetime.timezone.utc),
            "data_hash": data_hash,
            "property_info": property_info,
        }
    )
    value = sm2.sign(signer.key, tbs4.dump(), der=not raw_signature)
    fields = {
        "to_sign": tbs4,
        "cert": signer.certificate.dump(),
        "signature_alg_id": sm2.OID_SM2_WITH_SM3,
        "signature": value,
    }
    if timestamp_authority is not None:
        timestamp = make_timestamp(value, timestamp_authority, time=timestamp_time)
    if timestamp is not None:
        fields["time_stamp"] = timestamp
    return bytes(ses._SignatureV4(fields).dump())


def _bits(data: bytes) -> core.BitString:
    return core.BitString.load(b"\x03" + _length(len(data) + 1) + b"\x00" + data)


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def sign_pdf(
    pdf: bytes,
    signer: Issued,
    *,
    chain: Sequence[Any] = (),
    field_name: str = "Seal",
    signing_time: Optional[datetime.datetime] = None,
    reserved: int = 16 * 1024,
) -> bytes:
    """``pdf`` with an incremental update adding an SM2/SM3 CMS signature by ``signer``
    (``chain``: more certificates to embed)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415
    from pyhanko.sign.fields import SigFieldSpec  # noqa: PLC0415
    from pyhanko.sign.signers.cms_embedder import (  # noqa: PLC0415
        PdfCMSEmbedder,
        SigIOSetup,
        SigObjSetup,
    )
    from pyhanko.sign.signers.pdf_byterange import SignatureObject  # noqa: PLC0415

    when = (signing_time or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    coroutine = PdfCMSEmbedder(SigFieldSpec(field_name)).write_cms(field_name, writer)
    next(coroutine)
    coroutine.send(SigObjSetup(sig_placeholder=SignatureObject(bytes_reserved=reserved)))
    prepared, output = coroutine.send(SigIOSetup(md_algorithm="sha256", in_place=False))
    written = output.getvalue()
    signed = written[: prepared.reserved_region_start] + written[prepared.reserved_region_end :]
    content = make_signed_data(signer, detached=signed, chain=chain, signing_time=when)
    coroutine.send(content)
    return bytes(output.getvalue())


def make_signed_data(
    signer: Issued,
    *,
    detached: Optional[bytes] = None,
    content: Optional[Any] = None,
    content_type: str = "data",
    chain: Sequence[Any] = (),
    signing_time: Optional[datetime.datetime] = None,
) -> bytes:
    """A CMS ``ContentInfo`` of SignedData (SM3, SM2-with-SM3) by ``signer`` over
    ``detached`` bytes (not embedded) or an embedded ``content`` of ``content_type``."""
    from asn1crypto import cms  # noqa: PLC0415

    when = (signing_time or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    if content is not None:  # CMS (version 3): the content in an OCTET STRING
        encap: Any = cms.EncapsulatedContentInfo(
            {"content_type": content_type, "content": core.ParsableOctetString(content.dump())}
        )
        digested = bytes(content.dump())
    elif detached is not None:  # PKCS #7 form (version 1), as PDF signatures use
        encap = cms.ContentInfo({"content_type": content_type})
        digested = detached
    else:
        raise ValueError("sign detached bytes or an embedded content")
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_type]},
            {"type": "signing_time", "values": [cms.Time(name="utc_time", value=when)]},
            {"type": "message_digest", "values": [sm3(digested)]},
        ]
    )
    certificate = signer.certificate
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={
                    "issuer": certificate["tbs_certificate"]["issuer"],
                    "serial_number": certificate["tbs_certificate"]["serial_number"],
                },
            ),
            "digest_algorithm": {"algorithm": sm2.OID_SM3},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": sm2.OID_SM2_WITH_SM3},
            "signature": sm2.sign(signer.key, attrs.dump()),
        }
    )
    return bytes(
        cms.ContentInfo(
            {
                "content_type": "signed_data",
                "content": cms.SignedData(
                    {
                        "version": "v3" if content_type != "data" else "v1",
                        "digest_algorithms": [{"algorithm": sm2.OID_SM3}],
                        "encap_content_info": encap,
                        "certificates": [certificate, *chain],
                        "signer_infos": [signer_info],
                    }
                ),
            }
        ).dump()
    )


def make_timestamp(
    stamped: bytes, authority: Issued, *, time: Optional[datetime.datetime] = None
) -> bytes:
    """An RFC 3161 time-stamp token over ``stamped`` (SM3 imprint) by ``authority``."""
    import secrets  # noqa: PLC0415

    from asn1crypto import tsp  # noqa: PLC0415

    when = (time or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": "1.2.156.10197.1.999",
            "message_imprint": {
                "hash_algorithm": {"algorithm": sm2.OID_SM3},
                "hashed_message": sm3(stamped),
            },
            "serial_number": secrets.randbits(63),
            "gen_time": when,
        }
    )
    # by OID: asn1crypto learns the name "tst_info" only if tsp was imported before cms was used
    return make_signed_data(
        authority, content=info, content_type="1.2.840.113549.1.9.16.1.4", signing_time=when
    )
