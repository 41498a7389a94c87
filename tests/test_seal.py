"""Electronic-seal verification (§7.2 a): good, unsigned, tampered, untrusted, garbage."""

from __future__ import annotations

import contextlib
import datetime
import io
import subprocess
from pathlib import Path
from typing import Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from govkiosk.backends.certificate import render
from govkiosk.backends.demo_authority import SealAuthority
from govkiosk.backends.demo_data import certificate_for
from govkiosk.backends.demo_service import tamper
from govkiosk.config import load_config
from govkiosk.security.seal import (
    PadesScheme,
    SealError,
    SealVerifier,
    TamperedDocumentError,
    TrustAnchorError,
    UnreadableDocumentError,
    UnsignedDocumentError,
    UntrustedSealError,
)
from govkiosk.security.settings import SealSettings
from govkiosk.tables import ConfigError
from harness.departments import RETIRED, TODAY


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, bytes, bytes]:
    """(seal dir, unsigned certificate, the same sealed by the demo authority)."""
    directory = tmp_path_factory.mktemp("seal")
    department, cert = certificate_for("无犯罪记录证明", RETIRED, "230103", "GA1", TODAY)
    unsigned, _ = render(cert)
    return directory, unsigned, SealAuthority(directory).seal(unsigned, department, "test")


@pytest.fixture(scope="module")
def verifier(documents: Tuple[Path, bytes, bytes]) -> SealVerifier:
    return SealVerifier.from_settings(SealSettings(trusted=(str(documents[0] / "ca.pem"),)))


def test_a_sealed_certificate_is_accepted(verifier: SealVerifier, documents) -> None:
    report = verifier.verify(documents[2])
    assert report.signer == "公安机关电子印章"
    assert report.scheme == "pades"
    assert report.covers_whole_document
    assert report.signed_at is not None
    assert abs(
        report.signed_at - datetime.datetime.now(datetime.timezone.utc)
    ) < datetime.timedelta(hours=1)


async def test_verify_async_runs_in_an_executor(verifier: SealVerifier, documents) -> None:
    assert (await verifier.verify_async(documents[2])).signer == "公安机关电子印章"


def test_an_unsigned_document_is_refused(verifier: SealVerifier, documents) -> None:
    with pytest.raises(UnsignedDocumentError) as refused:
        verifier.verify(documents[1])
    assert refused.value.code == "seal.unsigned"


def test_a_changed_byte_is_tampering(verifier: SealVerifier, documents) -> None:
    with pytest.raises(TamperedDocumentError) as refused:
        verifier.verify(tamper(documents[2]))
    assert refused.value.code == "seal.tampered"


def test_an_incremental_update_after_sealing_is_tampering(
    verifier: SealVerifier, documents
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(documents[2]))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    updated = io.BytesIO()
    writer.write(updated)
    assert updated.getvalue().startswith(documents[2])  # the sealed bytes are untouched
    with pytest.raises(TamperedDocumentError, match="changed after it was sealed"):
        verifier.verify(updated.getvalue())


def test_a_seal_from_an_unknown_authority_is_untrusted(verifier: SealVerifier, documents) -> None:
    rogue = SealAuthority(documents[0], rogue=True).seal(documents[1], "police", "test")
    with pytest.raises(UntrustedSealError) as refused:
        verifier.verify(rogue)
    assert refused.value.code == "seal.untrusted"


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n", b"hello", b"%PDF-1.4\n%%EOF\n" * 3])
def test_garbage_is_unreadable(verifier: SealVerifier, data: bytes) -> None:
    with pytest.raises(UnreadableDocumentError):
        verifier.verify(data)


def test_a_truncated_sealed_document_is_refused(verifier: SealVerifier, documents) -> None:
    for cut in (len(documents[2]) // 2, len(documents[2]) - 40):
        with pytest.raises(SealError):
            verifier.verify(documents[2][:cut])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300), st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_fuzzed_documents_raise_only_seal_errors(
    verifier: SealVerifier, documents, tail: bytes, at: int, value: int
) -> None:
    sealed = bytearray(documents[2])
    sealed[at % len(sealed)] = value
    for data in (bytes(sealed), b"%PDF-1.7\n" + tail, bytes(sealed[: at % len(sealed)]) + tail):
        with contextlib.suppress(SealError):
            verifier.verify(data)


def test_missing_trust_anchor_is_reported() -> None:
    with pytest.raises(TrustAnchorError, match=r"missing: /nonexistent/ca\.pem"):
        SealVerifier.from_settings(SealSettings(trusted=("/nonexistent/ca.pem",)))


def test_a_trust_anchor_that_is_not_a_certificate(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(TrustAnchorError):
        PadesScheme.from_files([str(bogus)])


def test_seal_section_in_config(tmp_path: Path) -> None:
    path = tmp_path / "govkiosk.toml"
    path.write_text('[kiosk]\nid = "k1"\n[seal]\ntrusted = ["/etc/a.pem", "/etc/b.pem"]\n')
    assert load_config(path).seal.trusted == ("/etc/a.pem", "/etc/b.pem")
    path.write_text('[kiosk]\nid = "k1"\n[seal]\ntrusted = []\nscheme = "sm2"\n')
    with pytest.raises(ConfigError) as problems:
        load_config(path)
    assert [p.key for p in problems.value.problems] == ["seal.scheme", "seal.trusted"]


def test_the_certificate_shows_a_red_seal(documents, tmp_path: Path) -> None:
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(documents[2])
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(tmp_path / "cert")],
        check=True,
        timeout=30,
    )
    image = Image.open(tmp_path / "cert.png").convert("RGB")
    red = sum(1 for r, g, b in image.getdata() if r > 180 and g < 110 and b < 110)
    assert image.size == (497, 702)  # A4 at 60 dpi
    assert red > 400  # ring, star and the authority's name in seal red


async def test_blocking_verify_on_the_loop_is_a_programming_error(
    verifier: SealVerifier, documents
) -> None:
    with pytest.raises(RuntimeError, match="verify_async"):
        verifier.verify(documents[2])
