"""One seal verifier for PDF and OFD (§7.2 a): the demo department's OFD certificates sealed
with GB/T 38540 SM2 seals — accepted, refused for every tamper with its precise reason,
untrusted without the SM2 root, expired, unsigned, of a format the kiosk does not accept —
the ofdrw fixtures as "valid signature, untrusted issuer", the choice by content, the
department protocol's content type, and fuzzed bytes that raise only seal errors."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import zipfile
from pathlib import Path
from typing import Dict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.backends import demo_ofd
from govkiosk.backends.certificate import render
from govkiosk.backends.demo_authority import SealAuthority
from govkiosk.backends.demo_data import HOUSEHOLD_LICENCE, certificate_for
from govkiosk.backends.demo_sm2 import Sm2SealAuthority
from govkiosk.security.doctype import OFD, PDF, DocumentTypeError, checked, sniff
from govkiosk.security.ofdseal import stamps
from govkiosk.security.seal import (
    ExpiredSealError,
    SealError,
    SealVerifier,
    TamperedDocumentError,
    UnreadableDocumentError,
    UnsignedDocumentError,
    UntrustedSealError,
)
from govkiosk.security.sesmake import make_seal, make_signature
from govkiosk.security.settings import SealSettings
from harness.departments import RETIRED, TODAY

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ofd"
PICTURE = demo_ofd.seal_picture("公安机关", "电子证照专用章")


class Issued:
    """A department's SM2 seal authority and an OFD certificate it sealed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.authority = Sm2SealAuthority(directory, {"police": ("公安机关电子印章", PICTURE)})
        self.rogue = Sm2SealAuthority(
            directory, {"police": ("公安机关电子印章", PICTURE)}, rogue=True
        )
        _, self.cert = certificate_for(HOUSEHOLD_LICENCE, RETIRED, "230103", "GA1", TODAY)
        self.laid = demo_ofd.write(self.cert, doc_id="d" * 32, created=TODAY)
        self.files = self.sealed(self.authority.holder("police").seal, self.authority)

    def sealed(self, seal: bytes, authority: Sm2SealAuthority) -> Dict[str, bytes]:
        return demo_ofd.seal(
            self.laid,
            self.cert,
            doc_id="d" * 32,
            created=TODAY,
            seal_der=seal,
            signer=lambda xml, path: authority.sign("police", xml, path),
        )

    @property
    def ofd(self) -> bytes:
        return demo_ofd.package(self.files)

    def tampered(self, how: str) -> bytes:
        other = self.rogue.holder("police").seal
        return demo_ofd.package(demo_ofd.tamper(self.files, how, other_seal=other))


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return Issued(tmp_path_factory.mktemp("sm2"))


@pytest.fixture(scope="module")
def verifier(issued: Issued) -> SealVerifier:
    SealAuthority(issued.directory)  # the PAdES CA beside the SM2 root, as a kiosk has both
    trusted = (str(issued.directory / "ca.pem"), str(issued.directory / "sm2-root.pem"))
    return SealVerifier.from_settings(SealSettings(trusted=trusted))


def test_a_sealed_ofd_certificate_is_accepted_and_names_its_seal(
    verifier: SealVerifier, issued: Issued
) -> None:
    report = verifier.verify(issued.ofd)
    assert (report.scheme, report.document_type) == ("ofd-ses", OFD)
    assert report.seal_name == report.issuer == "公安机关电子印章"
    assert report.signer == "公安机关电子印章"
    assert report.covers_whole_document
    assert report.signed_at is not None
    (finding,) = report.signatures
    assert (finding.valid, finding.trusted, finding.digest_ok, finding.signature_ok) == (
        True,
        True,
        True,
        True,
    )
    assert finding.maker == "演示电子印章制作中心"
    assert finding.seal_format == "SES v4 (GB/T 38540-2020)"
    assert finding.seal_id
    assert finding.valid_from is not None
    assert finding.valid_to is not None
    assert finding.valid_from < report.signed_at < finding.valid_to
    assert finding.timestamp == "none"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("content", "Content.xml changed after sealing"),
        ("added", "Res/extra.xml was added"),
        ("removed", "Seal.esl was removed"),
        ("signed_value", "the signature value does not verify"),
        ("seal_swapped", "Seal.esl changed after sealing"),
        ("signature_xml", "protected Signature.xml changed"),
    ],
)
def test_every_tamper_is_refused_with_its_reason(
    verifier: SealVerifier, issued: Issued, how: str, reason: str
) -> None:
    with pytest.raises(TamperedDocumentError, match=reason) as refused:
        verifier.verify(issued.tampered(how))
    assert refused.value.code == "seal.tampered"


def test_a_removed_resource_leaves_the_ofd_unreadable(
    verifier: SealVerifier, issued: Issued
) -> None:
    files = dict(issued.files)
    del files["Doc_0/PublicRes.xml"]
    with pytest.raises(UnreadableDocumentError, match=r"PublicRes\.xml is missing"):
        verifier.verify(demo_ofd.package(files))


def test_a_seal_swapped_inside_the_signature_is_refused(
    verifier: SealVerifier, issued: Issued
) -> None:
    """The rogue authority's seal, signed by its own holder: the seal file and signature
    agree, the document's protected files do not (the original Seal.esl's digest)."""
    files = issued.sealed(issued.rogue.holder("police").seal, issued.rogue)
    with pytest.raises(UntrustedSealError, match="not a trusted seal authority"):
        verifier.verify(demo_ofd.package(files))


def test_without_the_sm2_root_the_seal_is_untrusted(issued: Issued) -> None:
    pades_only = SealVerifier.from_settings(
        SealSettings(trusted=(str(issued.directory / "ca.pem"),))
    )
    with pytest.raises(UntrustedSealError, match="not a trusted seal authority") as refused:
        pades_only.verify(issued.ofd)
    assert refused.value.code == "seal.untrusted"
    examined = pades_only.examine(issued.ofd)
    (finding,) = examined.signatures
    assert (finding.digest_ok, finding.signature_ok, finding.trusted) == (True, True, False)
    assert finding.code == "seal.untrusted"
    assert examined.refusal is not None


def test_an_expired_seal_is_refused(verifier: SealVerifier, issued: Issued) -> None:
    holder = issued.authority.holder("police")
    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    old = make_seal(
        maker=issued.authority.maker_issued,
        signers=[holder.signer.certificate],
        name="公安机关电子印章",
        es_id="expired-1",
        picture=PICTURE,
        valid_start=long_ago,
        valid_end=long_ago + datetime.timedelta(days=365),
    )
    files = demo_ofd.seal(
        issued.laid,
        issued.cert,
        doc_id="e" * 32,
        created=TODAY,
        seal_der=old,
        signer=lambda xml, path: make_signature(
            seal=old, signer=holder.signer, protected=xml, property_info=path
        ),
    )
    with pytest.raises(ExpiredSealError, match="was valid 2020-01-01 to 2020-12-31") as refused:
        verifier.verify(demo_ofd.package(files))
    assert refused.value.code == "seal.expired"


def test_an_unsigned_ofd_is_refused(verifier: SealVerifier, issued: Issued) -> None:
    with pytest.raises(UnsignedDocumentError, match="no electronic seal"):
        verifier.verify(demo_ofd.package(issued.laid.files))


def test_a_format_the_kiosk_does_not_accept_is_refused(issued: Issued) -> None:
    trusted = (str(issued.directory / "ca.pem"), str(issued.directory / "sm2-root.pem"))
    pdf_only = SealVerifier.from_settings(SealSettings(trusted=trusted, formats=("pades",)))
    with pytest.raises(UntrustedSealError, match=r"ofd-ses seals are not accepted"):
        pdf_only.verify(issued.ofd)


def test_the_scheme_is_chosen_by_content(verifier: SealVerifier, issued: Issued) -> None:
    department, cert = certificate_for("无犯罪记录证明", RETIRED, "230103", "GA2", TODAY)
    pades = SealAuthority(issued.directory).seal(render(cert)[0], department, "test")
    assert verifier.scheme_for(issued.ofd) == "ofd-ses"
    assert verifier.scheme_for(pades) == "pades"
    assert verifier.verify(pades).issuer == "公安机关电子印章"  # the signer: no seal name
    with pytest.raises(UnreadableDocumentError, match="neither a PDF nor an OFD"):
        verifier.verify(b"PK\x03\x04 not a package")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("signedFile.ofd", "seal.untrusted"),  # 国家税务总局's seal: not a root we trust
        ("SESV4SignDoc.ofd", "seal.expired"),  # ofdrw's test seal ended 2022, signed in 2026
    ],
)
def test_fixtures_from_another_implementation_verify_but_are_not_accepted(
    verifier: SealVerifier, name: str, code: str
) -> None:
    data = (FIXTURES / name).read_bytes()
    examined = verifier.examine(data)
    assert examined.scheme == "ofd-ses"
    (finding,) = examined.signatures
    assert (finding.digest_ok, finding.signature_ok, finding.trusted) == (True, True, False)
    assert finding.code == code
    assert finding.seal_name
    assert finding.maker
    with pytest.raises(SealError) as refused:
        verifier.verify(data)
    assert refused.value.code == code


def test_unsigned_ofdrw_fixture_is_unsigned(verifier: SealVerifier) -> None:
    with pytest.raises(UnsignedDocumentError):
        verifier.verify((FIXTURES / "helloworld.ofd").read_bytes())


def test_the_stamp_pictures_are_the_seals(issued: Issued) -> None:
    from govkiosk.ofd.model import read_ofd  # noqa: PLC0415

    (stamp,) = stamps(read_ofd(issued.ofd))
    assert stamp.picture == PICTURE
    assert stamp.page_id == read_ofd(issued.ofd).pages[-1].id  # where the authority signs
    assert (stamp.boundary.w, stamp.boundary.h) == (40.0, 40.0)


def test_content_types_are_told_by_content(issued: Issued) -> None:
    _, cert = certificate_for("无犯罪记录证明", RETIRED, "230103", "GA3", TODAY)
    pdf = render(cert)[0]
    assert (sniff(pdf), sniff(issued.ofd), sniff(b"PK\x03\x04"), sniff(b"")) == (
        PDF,
        OFD,
        None,
        None,
    )
    assert checked("application/ofd; charset=binary", issued.ofd) == OFD
    with pytest.raises(DocumentTypeError, match="stated application/pdf but is application/ofd"):
        checked("application/pdf", issued.ofd)
    with pytest.raises(DocumentTypeError, match="unknown document type"):
        checked("image/png", pdf)
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("Document.xml", b"<x/>")
    with pytest.raises(DocumentTypeError, match="neither PDF nor OFD"):
        checked(OFD, plain_zip.getvalue())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255), st.binary(max_size=200))
def test_fuzzed_ofd_documents_raise_only_seal_errors(
    verifier: SealVerifier, issued: Issued, at: int, value: int, tail: bytes
) -> None:
    sealed = bytearray(issued.ofd)
    sealed[at % len(sealed)] = value
    for data in (bytes(sealed), bytes(sealed[: at % len(sealed)]) + tail, b"PK\x03\x04" + tail):
        with contextlib.suppress(SealError):
            verifier.verify(data)
        assert sniff(data) in (OFD, PDF, None)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "OFD.xml",
                "Doc_0/Document.xml",
                "Doc_0/Signs/Signatures.xml",
                "Doc_0/Signs/Sign_0/Signature.xml",
                "Doc_0/Signs/Sign_0/SignedValue.dat",
                "Doc_0/Signs/Sign_0/Seal.esl",
                "Doc_0/Pages/Page_0/Content.xml",
            ]
        ),
        st.binary(max_size=120),
        min_size=1,
    )
)
def test_fuzzed_packages_raise_only_seal_errors(
    verifier: SealVerifier, issued: Issued, replaced: Dict[str, bytes]
) -> None:
    files = dict(issued.files)
    files.update(replaced)
    with contextlib.suppress(SealError):
        verifier.verify(demo_ofd.package(files))


def test_a_test_specimen_is_marked_on_every_page_and_still_verifies(
    verifier: SealVerifier, issued: Issued
) -> None:
    specimen = dataclasses.replace(issued.cert, specimen="测试样张")
    laid = demo_ofd.write(specimen, doc_id="s" * 32, created=TODAY)
    pages = [v for k, v in laid.files.items() if k.endswith("Content.xml")]
    assert len(pages) == 2
    assert all("测试样张</ofd:TextCode>".encode() in page for page in pages)
    authority = issued.authority
    files = demo_ofd.seal(
        laid,
        specimen,
        doc_id="s" * 32,
        created=TODAY,
        seal_der=authority.holder("police").seal,
        signer=lambda xml, path: authority.sign("police", xml, path),
    )
    assert verifier.verify(demo_ofd.package(files)).issuer == "公安机关电子印章"
