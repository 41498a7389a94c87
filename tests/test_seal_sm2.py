"""SM2/SM3 seals on PDF through the one seal verifier (§7.2 a): accepted with the SM2
authority in [seal] trusted, refused when tampered, untrusted, revoked or appended to;
PAdES documents are verified as before by the same verifier."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from govkiosk.backends.certificate import render
from govkiosk.backends.demo_authority import SealAuthority
from govkiosk.backends.demo_data import certificate_for
from govkiosk.backends.demo_service import tamper
from govkiosk.gm.certs import TestAuthority
from govkiosk.security.seal import (
    RevokedSealError,
    SealError,
    SealVerifier,
    TamperedDocumentError,
    UnsignedDocumentError,
    UntrustedSealError,
)
from govkiosk.security.sesmake import sign_pdf
from govkiosk.security.settings import SealSettings
from harness.departments import RETIRED, TODAY


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Tuple[Path, TestAuthority, bytes, bytes, bytes]:
    """(dir with trust files, SM2 authority, unsigned, SM2-sealed, PAdES-sealed)."""
    directory = tmp_path_factory.mktemp("sm2seal")
    department, cert = certificate_for("无犯罪记录证明", RETIRED, "230103", "GA1", TODAY)
    unsigned, _ = render(cert)
    pades = SealAuthority(directory).seal(unsigned, department, "test")
    authority = TestAuthority("SM2 seal authority")
    signer = authority.issue("公安机关电子印章")
    (directory / "sm2-root.pem").write_bytes(authority.root.pem())
    return directory, authority, unsigned, sign_pdf(unsigned, signer), pades


def verifier_for(directory: Path, **extra: object) -> SealVerifier:
    trusted = (str(directory / "ca.pem"), str(directory / "sm2-root.pem"))
    return SealVerifier.from_settings(SealSettings(trusted=trusted, **extra))  # type: ignore[arg-type]


def test_an_sm2_sealed_pdf_is_accepted(setup) -> None:
    directory, _, _, sealed, _ = setup
    report = verifier_for(directory).verify(sealed)
    assert report.scheme == "sm2-pdf"
    assert report.signer == "公安机关电子印章"
    assert report.covers_whole_document
    assert report.signed_at is not None


def test_pades_is_verified_as_before_by_the_same_verifier(setup) -> None:
    directory, _, unsigned, _, pades = setup
    verifier = verifier_for(directory)
    report = verifier.verify(pades)
    assert (report.scheme, report.signer) == ("pades", "公安机关电子印章")
    with pytest.raises(TamperedDocumentError):
        verifier.verify(tamper(pades))
    with pytest.raises(UnsignedDocumentError):
        verifier.verify(unsigned)


def test_a_changed_byte_is_tampering(setup) -> None:
    directory, _, _, sealed, _ = setup
    with pytest.raises(TamperedDocumentError) as refused:
        verifier_for(directory).verify(tamper(sealed))
    assert str(refused.value) == "the seal's signature does not match the document"


def test_an_update_after_sealing_is_tampering(setup) -> None:
    directory, _, _, sealed, _ = setup
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    updated = io.BytesIO()
    writer.write(updated)
    with pytest.raises(TamperedDocumentError, match="changed after it was sealed"):
        verifier_for(directory).verify(updated.getvalue())


def test_an_sm2_seal_from_another_authority_is_untrusted(setup) -> None:
    directory, _, unsigned, _, _ = setup
    rogue = TestAuthority("SM2 seal authority")  # the same name, another key
    with pytest.raises(UntrustedSealError) as refused:
        verifier_for(directory).verify(sign_pdf(unsigned, rogue.issue("公安机关电子印章")))
    assert refused.value.code == "seal.untrusted"
    other = TestAuthority("a rogue authority")
    with pytest.raises(UntrustedSealError, match="'a rogue authority', which is not a trusted"):
        verifier_for(directory).verify(sign_pdf(unsigned, other.issue("公安机关电子印章")))


def test_a_revoked_sm2_signer_is_refused(setup) -> None:
    directory, authority, unsigned, _, _ = setup
    signer = authority.issue("公安机关电子印章")
    (directory / "sm2.crl").write_bytes(authority.crl([signer.certificate]))
    verifier = verifier_for(directory, crls=(str(directory / "sm2.crl"),))
    with pytest.raises(RevokedSealError) as refused:
        verifier.verify(sign_pdf(unsigned, signer))
    assert refused.value.code == "seal.revoked"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_fuzzed_sm2_documents_raise_only_seal_errors(setup, at: int, value: int) -> None:
    directory, _, _, sealed, _ = setup
    changed = bytearray(sealed)
    changed[at % len(changed)] = value
    with contextlib.suppress(SealError):
        verifier_for(directory).verify(bytes(changed))
