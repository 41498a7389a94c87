"""SM2 electronic seals (GM/T 0031 v1, GB/T 38540 v4, GB/T 35275): the fixtures made by
other implementations, seals made by a test authority, and every tamper."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Dict, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.gm.certs import Revocation, TestAuthority, check_signature, load_certificate
from govkiosk.security import ses, sesmake
from govkiosk.security.seal import (
    ExpiredSealError,
    MalformedSealError,
    RevokedSealError,
    SealError,
    TamperedDocumentError,
    UntrustedSealError,
)
from govkiosk.security.sesverify import SesVerifier
from govkiosk.security.settings import SealSettings

FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/ofd"
#: ofdrw's test root, as published and as a CA (README there).
OFDRW = Path(__file__).resolve().parent / "fixtures/ofdrw"
NOW = datetime.datetime.now(datetime.timezone.utc)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


XML = b'<?xml version="1.0"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"/>'
PATH = "/Doc_0/Signs/Sign_0/Signature.xml"


def signs(name: str) -> Dict[str, bytes]:
    """The files under Doc_0/Signs/ of a fixture OFD, read in memory."""
    with zipfile.ZipFile(FIXTURES / name) as package:
        return {
            n[len("Doc_0/Signs/") :]: package.read(n)
            for n in package.namelist()
            if n.startswith("Doc_0/Signs/") and not n.endswith("/")
        }


# -- the fixtures ---------------------------------------------------------------------------


def test_the_fixture_seals_parse() -> None:
    v1 = ses.parse_seal((FIXTURES / "UserV1.esl").read_bytes())
    assert (v1.version, v1.name, v1.es_id, v1.vid) == (
        1,
        "OFDRW测试用印章",
        "40C8CDD24DEF43388B86E62CCE1D6832",
        "OFDR&WTest",
    )
    assert v1.picture.type == "PNG"
    assert v1.picture.data.startswith(b"\x89PNG")
    assert (v1.picture.width_mm, v1.picture.height_mm) == (40, 40)
    assert len(v1.certs) == 1
    v4 = ses.parse_seal((FIXTURES / "UserV4.esl").read_bytes())
    assert (v4.version, v4.name, v4.format) == (4, "OFD R&W 测试用印章", ses.V4_FORMAT)
    assert v4.valid_start.year == 2020
    assert v4.valid_end == datetime.datetime(2022, 4, 22, 2, 9, tzinfo=datetime.timezone.utc)


def test_the_fixture_seals_are_validly_made_by_an_untrusted_maker() -> None:
    verifier = SesVerifier()
    for name in ("UserV1.esl", "UserV4.esl"):
        report = verifier.verify_seal((FIXTURES / name).read_bytes())
        assert report.maker == "Test Certificate"
        assert not report.trusted
        assert report.trust_kind == "untrusted"
        assert "'OFD Reader and WriterROOT Certificate', which is not a trusted" in report.trust
    with pytest.raises(ExpiredSealError):  # valid 2020-04-22 to 2022-04-22
        verifier.verify_seal((FIXTURES / "UserV4.esl").read_bytes(), at=NOW)


def test_the_fixture_signatures_are_valid_from_untrusted_issuers() -> None:
    verifier = SesVerifier()
    tax = signs("signedFile.ofd")
    report = verifier.verify_ofd_signature(
        tax["Sign_0/SignedValue.dat"], tax["Sign_0/Signature.xml"]
    )
    assert report.format == ses.V4_FORMAT
    assert (report.signer, report.seal_name, report.seal_id) == (
        "国家税务总局江苏省税务局",
        "国家税务总局江苏省税务局",
        "32010600000001",
    )
    assert report.maker == "国家税务总局电子印章制作系统"
    assert report.signed_at == datetime.datetime(
        2020, 10, 4, 7, 28, 55, tzinfo=datetime.timezone.utc
    )
    assert report.digest_ok
    assert not report.trusted
    assert "'税务电子证书管理中心(SM2)', which is not a trusted seal authority" in report.trust
    with pytest.raises(UntrustedSealError) as refused:
        report.raise_unless_trusted()
    assert refused.value.code == "seal.untrusted"

    keyword = signs("keyword.ofd")
    sealed = verifier.verify_ofd_signature(
        keyword["Sign_1/SignedValue.dat"],
        keyword["Sign_1/Signature.xml"],
        seal_file=keyword["Sign_1/Seal.esl"],
    )
    assert sealed.seal_name == "淄博市周村区自然资源局(不动产登记专用章)"
    assert sealed.maker == "山东省政府统一电子印章制作系统"
    assert "'CEGN_SEAL_CA'" in sealed.trust
    assert not sealed.trusted
    signed = verifier.verify_ofd_signature(
        keyword["Sign_3/SignedValue.dat"], keyword["Sign_3/Signature.xml"], kind="Sign"
    )
    assert signed.format == "GB/T 35275 SM2 signature"
    assert signed.signer == "37030000001721"
    assert not signed.trusted


def test_the_ofdrw_v4_document_was_sealed_after_its_seal_expired() -> None:
    """SESV4SignDoc.ofd: ofdrw's test seal (valid 2020-2022) signed it in 2026."""
    files = signs("SESV4SignDoc.ofd")
    with pytest.raises(ExpiredSealError) as refused:
        SesVerifier().verify_ofd_signature(
            files["Sign_0/SignedValue.dat"],
            files["Sign_0/Signature.xml"],
            seal_file=files["Sign_0/Seal.esl"],
        )
    assert refused.value.code == "seal.expired"
    assert "valid 2020-04-22 to 2022-04-22, not at 2026-08-04" in str(refused.value)


def test_ofdrws_published_root_may_not_sign_certificates_so_its_seals_stay_untrusted() -> None:
    root = load_certificate((OFDRW / "root.pem").read_bytes())
    signer = load_certificate((FIXTURES / "sign_cert.pem").read_bytes())
    assert check_signature(signer, root)  # the chain's signature holds...
    verifier = SesVerifier([root])
    for name in ("UserV1.esl", "UserV4.esl"):
        report = verifier.verify_seal((FIXTURES / name).read_bytes())
        # ...but the root's key usage has no keyCertSign (as `openssl verify` says: error 32)
        assert not report.trusted
        assert report.trust == (
            "OFD Reader and WriterROOT Certificate: its key usage does not include certificate signing"
        )


def test_with_ofdrws_root_trusted_as_a_ca_the_fixture_seals_are_trusted() -> None:
    verifier = SesVerifier([load_certificate((OFDRW / "root-ca.pem").read_bytes())])
    for name in ("UserV1.esl", "UserV4.esl"):
        report = verifier.verify_seal((FIXTURES / name).read_bytes())
        assert report.trusted, report.trust
        assert (report.maker, report.trust_kind) == ("Test Certificate", "trusted")
    # The one document ofdrw sealed with them: a trusted chain, sealed after its seal expired.
    files = signs("SESV4SignDoc.ofd")
    with pytest.raises(ExpiredSealError):
        verifier.verify_ofd_signature(
            files["Sign_0/SignedValue.dat"],
            files["Sign_0/Signature.xml"],
            seal_file=files["Sign_0/Seal.esl"],
        )


# -- tampering with the fixtures --------------------------------------------------------------


def test_a_changed_signature_xml_is_tampering() -> None:
    tax = signs("signedFile.ofd")
    changed = tax["Sign_0/Signature.xml"].replace(b"Annotation.xml", b"Annotation.xmL")
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier().verify_ofd_signature(tax["Sign_0/SignedValue.dat"], changed)
    assert str(refused.value) == (
        "the signed data's digest does not match: the protected Signature.xml changed"
    )


def test_an_altered_signed_value_is_tampering() -> None:
    tax = signs("signedFile.ofd")
    value = bytearray(tax["Sign_0/SignedValue.dat"])
    value[-1] ^= 0x01  # the last byte of the signature's s
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier().verify_ofd_signature(bytes(value), tax["Sign_0/Signature.xml"])
    assert str(refused.value) == "the signature value does not verify"


def test_a_swapped_seal_file_is_tampering() -> None:
    keyword = signs("keyword.ofd")
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier().verify_ofd_signature(
            keyword["Sign_1/SignedValue.dat"],
            keyword["Sign_1/Signature.xml"],
            seal_file=(FIXTURES / "UserV4.esl").read_bytes(),
        )
    assert str(refused.value) == "the seal file in the document is not the seal that signed it"


def test_a_changed_seal_breaks_the_maker_signature() -> None:
    seal = (FIXTURES / "UserV1.esl").read_bytes()
    changed = seal.replace("测试".encode(), "伪造".encode(), 1)
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier().verify_seal(changed)
    assert str(refused.value) == "the seal's maker signature does not verify"


# -- seals made by a test authority -------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> Tuple[TestAuthority, object, object, object]:
    authority = TestAuthority()
    return (
        authority,
        authority.issue("seal maker"),
        authority.issue("signer"),
        authority.issue("another signer"),
    )


def seal_for(pki, *, version: int = 4, digest_list: bool = False, days: int = 30) -> bytes:
    _, maker, signer, _ = pki
    return sesmake.make_seal(
        maker=maker,
        signers=[signer.certificate],
        name="测试专用章",
        es_id="11010000000001",
        picture=(FIXTURES / "UserV4.esl").read_bytes()[700:900],
        valid_start=NOW - datetime.timedelta(days=1),
        valid_end=NOW + datetime.timedelta(days=days),
        version=version,
        digest_list=digest_list,
    )


@pytest.mark.parametrize(
    ("version", "digest_list", "raw"), [(1, False, False), (4, False, False), (4, True, True)]
)
def test_a_seal_from_a_trusted_authority_is_trusted(pki, version, digest_list, raw) -> None:
    authority, _, signer, _ = pki
    seal = seal_for(pki, version=version, digest_list=digest_list)
    value = sesmake.make_signature(
        seal=seal, signer=signer, protected=XML, property_info=PATH, raw_signature=raw
    )
    verifier = SesVerifier([authority.root.certificate])
    report = verifier.verify_ofd_signature(value, XML, seal_file=seal)
    assert report.trusted, report.trust
    assert report.raise_unless_trusted() is report
    assert report.format == (ses.V1_FORMAT if version == 1 else ses.V4_FORMAT)
    assert (report.signer, report.maker, report.seal_name) == ("signer", "seal maker", "测试专用章")
    assert report.property_info == PATH
    assert report.signed_at is not None
    # signed just now (NOW is the module's import: a whole suite may run in between)
    assert abs(report.signed_at - _now()) < datetime.timedelta(minutes=1)
    assert report.notes == (
        "signer: revocation not checked (no CRL for its issuer is configured)",
        "seal maker: revocation not checked (no CRL for its issuer is configured)",
    )
    assert report.as_dict()["trusted"] is True
    # by default (no SM2 authority configured): valid signature, untrusted issuer
    untrusted = SesVerifier().verify_ofd_signature(value, XML, seal_file=seal)
    assert not untrusted.trusted
    assert untrusted.digest_ok


def test_a_signer_the_seal_does_not_list_is_refused(pki) -> None:
    authority, _, _, other = pki
    for digest_list in (False, True):
        value = sesmake.make_signature(
            seal=seal_for(pki, digest_list=digest_list),
            signer=other,
            protected=XML,
            property_info=PATH,
        )
        with pytest.raises(TamperedDocumentError) as refused:
            SesVerifier([authority.root.certificate]).verify_signature(value, XML)
        assert (
            str(refused.value)
            == "the signer's certificate (another signer) is not one the seal lists"
        )


def test_a_swapped_signer_certificate_is_tampering(pki) -> None:
    authority, _, signer, other = pki
    value = sesmake.make_signature(
        seal=seal_for(pki), signer=signer, protected=XML, property_info=PATH
    )
    parsed = ses._SignatureV4.load(value)
    swapped = ses._SignatureV4(
        {
            "to_sign": parsed["to_sign"],
            "cert": other.certificate.dump(),
            "signature_alg_id": parsed["signature_alg_id"],
            "signature": parsed["signature"],
        }
    ).dump(force=True)
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier([authority.root.certificate]).verify_signature(swapped, XML)
    assert str(refused.value) == "the signature value does not verify"


def test_a_seal_swapped_inside_the_signature_is_tampering(pki) -> None:
    authority, _, signer, _ = pki
    seal = seal_for(pki)
    value = sesmake.make_signature(seal=seal, signer=signer, protected=XML, property_info=PATH)
    other_seal = seal_for(pki)  # the same seal made again: another maker signature
    parsed = ses._SignatureV4.load(value)
    tbs = parsed["to_sign"]
    swapped = ses._SignatureV4(
        {
            "to_sign": ses._TbsV4(
                {
                    "version": tbs["version"],
                    "eseal": ses.core.Any.load(other_seal),
                    "time_info": tbs["time_info"],
                    "data_hash": tbs["data_hash"],
                    "property_info": tbs["property_info"],
                }
            ),
            "cert": parsed["cert"],
            "signature_alg_id": parsed["signature_alg_id"],
            "signature": parsed["signature"],
        }
    ).dump(force=True)
    assert ses.parse_signature(swapped).seal.der == other_seal
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier([authority.root.certificate]).verify_signature(swapped, XML)
    assert str(refused.value) == "the signature value does not verify"


def test_a_signature_after_the_seal_expired_is_refused(pki) -> None:
    authority, _, signer, _ = pki
    value = sesmake.make_signature(
        seal=seal_for(pki, days=1),
        signer=signer,
        protected=XML,
        property_info=PATH,
        signed_at=NOW + datetime.timedelta(days=3),
    )
    with pytest.raises(ExpiredSealError) as refused:
        SesVerifier([authority.root.certificate]).verify_signature(value, XML)
    assert refused.value.code == "seal.expired"
    assert "when it signed" in str(refused.value)


def test_a_revoked_signer_is_refused_and_hard_fail_refuses_the_unknown(pki) -> None:
    authority, _, signer, _ = pki
    seal = seal_for(pki)
    value = sesmake.make_signature(seal=seal, signer=signer, protected=XML, property_info=PATH)
    roots = [authority.root.certificate]
    revoked = SesVerifier(roots, revocation=Revocation(crls=[authority.crl([signer.certificate])]))
    report = revoked.verify_signature(value, XML)
    assert (report.trusted, report.trust_kind) == (False, "revoked")
    with pytest.raises(RevokedSealError) as refused:
        report.raise_unless_trusted()
    assert refused.value.code == "seal.revoked"
    hard = SesVerifier(roots, revocation=Revocation(policy="hard-fail")).verify_signature(
        value, XML
    )
    assert hard.trust_kind == "revocation"
    assert "revocation status unknown" in hard.trust
    good = SesVerifier(roots, revocation=Revocation(crls=[authority.crl()], policy="hard-fail"))
    assert good.verify_signature(value, XML).trusted


def test_settings_build_the_sm2_trust_store(tmp_path: Path, pki) -> None:
    authority, _, signer, _ = pki
    (tmp_path / "roots.pem").write_bytes(authority.root.pem())
    (tmp_path / "root.crl").write_bytes(authority.crl())
    verifier = SesVerifier.from_settings(
        SealSettings(
            trusted=(str(tmp_path / "roots.pem"),),
            crls=(str(tmp_path / "root.crl"),),
            revocation="hard-fail",
        )
    )
    value = sesmake.make_signature(
        seal=seal_for(pki), signer=signer, protected=XML, property_info=PATH
    )
    assert verifier.verify_signature(value, XML).trusted


# -- hostile input ----------------------------------------------------------------------------


def test_size_limits() -> None:
    with pytest.raises(MalformedSealError):
        ses.parse_seal(b"\x30" + bytes(ses.MAX_SES))
    with pytest.raises(MalformedSealError):
        ses.parse_signature(b"")


_TAX = signs("signedFile.ofd")
_KEYWORD = signs("keyword.ofd")
#: (structure, the Signature.xml it protects): mutations reach the signature checks.
SAMPLES = [
    ((FIXTURES / "UserV1.esl").read_bytes(), b""),
    ((FIXTURES / "UserV4.esl").read_bytes(), b""),
    (_TAX["Sign_0/SignedValue.dat"], _TAX["Sign_0/Signature.xml"]),
    (_KEYWORD["Sign_1/SignedValue.dat"], _KEYWORD["Sign_1/Signature.xml"]),
    (_KEYWORD["Sign_3/SignedValue.dat"], _KEYWORD["Sign_3/Signature.xml"]),
]


@pytest.mark.parametrize(("position", "value"), [(7_365_811_623, 31), (7_365_811_621, 64)])
def test_a_damaged_public_key_in_a_signer_certificate_is_a_seal_error(
    position: int, value: int
) -> None:
    # Found by the fuzz test below: asn1crypto reads the key only when it is used, and
    # its ValueError escaped instead of a SealError.
    original, xml = SAMPLES[2]
    data = bytearray(original)
    data[position % len(data)] = value
    with pytest.raises(SealError):
        SesVerifier().verify_ofd_signature(bytes(data), xml, kind="Seal")


@pytest.mark.fuzz
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(SAMPLES))),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    st.integers(min_value=0),
    st.sampled_from(["Seal", "Sign"]),
)
def test_mutated_structures_raise_only_seal_errors(index, flips, cut, kind) -> None:
    original, xml = SAMPLES[index]
    data = bytearray(original)
    for position, value in flips:
        data[position % len(data)] = value
    data = data[: max(1, len(data) - cut % 64)] if cut % 3 == 0 else data
    changed = bytes(data)
    for call in (
        lambda: ses.parse_seal(changed),
        lambda: ses.parse_signature(changed),
        lambda: SesVerifier().verify_ofd_signature(changed, xml, kind=kind),
        lambda: SesVerifier().verify_seal(changed),
    ):
        with contextlib.suppress(SealError):
            call()


@pytest.mark.fuzz
@settings(deadline=None)
@given(st.binary(max_size=400))
def test_garbage_raises_only_malformed(data: bytes) -> None:
    for call in (ses.parse_seal, ses.parse_signature):
        with contextlib.suppress(MalformedSealError):
            call(data)
    with contextlib.suppress(SealError):
        SesVerifier().verify_ofd_signature(data, b"", kind="Sign")


def test_reports_are_json_ready(pki) -> None:
    _, _, signer, _ = pki
    value = sesmake.make_signature(
        seal=seal_for(pki), signer=signer, protected=XML, property_info=PATH
    )
    text = json.dumps(SesVerifier().verify_signature(value, XML).as_dict(), ensure_ascii=False)
    assert '"seal_name": "测试专用章"' in text
    assert io.StringIO(text).read().count("trusted") >= 1


# -- time stamps ------------------------------------------------------------------------------


def test_a_time_stamp_from_a_trusted_authority_is_reported_and_checked(pki) -> None:
    authority, _, signer, _ = pki
    tsa = authority.issue("time-stamp authority")
    seal = seal_for(pki)
    value = sesmake.make_signature(
        seal=seal, signer=signer, protected=XML, property_info=PATH, timestamp_authority=tsa
    )
    assert ses.parse_signature(value).timestamp is not None
    report = SesVerifier([authority.root.certificate]).verify_signature(value, XML)
    assert report.trusted
    stamp = report.timestamp
    assert stamp is not None
    assert (stamp.authority, stamp.verified, stamp.trusted) == ("time-stamp authority", True, True)
    assert abs(stamp.time - _now()) < datetime.timedelta(minutes=1)
    assert report.as_dict()["timestamp"]["trusted"] is True
    untrusted = SesVerifier().verify_signature(value, XML).timestamp
    assert untrusted is not None
    assert not untrusted.trusted
    assert untrusted.note.startswith("the time-stamp authority is not trusted: ")


def test_a_time_stamp_over_something_else_is_tampering(pki) -> None:
    authority, _, signer, _ = pki
    tsa = authority.issue("time-stamp authority")
    value = sesmake.make_signature(
        seal=seal_for(pki),
        signer=signer,
        protected=XML,
        property_info=PATH,
        timestamp=sesmake.make_timestamp(b"another signature", tsa),
    )
    with pytest.raises(TamperedDocumentError) as refused:
        SesVerifier([authority.root.certificate]).verify_signature(value, XML)
    assert str(refused.value) == "the time stamp does not stamp this signature value"
    garbage = sesmake.make_signature(
        seal=seal_for(pki), signer=signer, protected=XML, property_info=PATH, timestamp=b"\x30\x00"
    )
    with pytest.raises(MalformedSealError, match="the time stamp cannot be read"):
        SesVerifier().verify_signature(garbage, XML)


def test_a_revocation_after_a_time_stamped_signature_does_not_undo_it() -> None:
    days = datetime.timedelta(days=1)
    authority = TestAuthority("time root", not_before=NOW - 30 * days)
    maker = authority.issue("maker", not_before=NOW - 20 * days)
    signer = authority.issue("signer", not_before=NOW - 20 * days)
    tsa = authority.issue("tsa", not_before=NOW - 20 * days)
    seal = sesmake.make_seal(
        maker=maker,
        signers=[signer.certificate],
        name="章",
        es_id="1",
        picture=b"\x89PNG",
        valid_start=NOW - 10 * days,
        valid_end=NOW + 10 * days,
    )
    crl = authority.crl([signer.certificate], revoked_at=NOW - days)
    verifier = SesVerifier([authority.root.certificate], revocation=Revocation(crls=[crl]))
    stamped = sesmake.make_signature(
        seal=seal,
        signer=signer,
        protected=XML,
        property_info=PATH,
        signed_at=NOW - 3 * days,
        timestamp_authority=tsa,
        timestamp_time=NOW - 3 * days,
    )
    report = verifier.verify_signature(stamped, XML)
    assert report.trusted, report.trust  # signed (and stamped) before the revocation
    claimed = sesmake.make_signature(
        seal=seal, signer=signer, protected=XML, property_info=PATH, signed_at=NOW - 3 * days
    )
    assert verifier.verify_signature(claimed, XML).trust_kind == "revoked"  # only its word


async def test_verify_async_runs_in_an_executor() -> None:
    tax = signs("signedFile.ofd")
    report = await SesVerifier().verify_ofd_signature_async(
        tax["Sign_0/SignedValue.dat"], tax["Sign_0/Signature.xml"]
    )
    assert report.seal_id == "32010600000001"
