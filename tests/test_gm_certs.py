"""SM2 certificates (govkiosk.gm.certs): signatures, chains, validity, CRLs, OpenSSL interop."""

from __future__ import annotations

import datetime
import http.server
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.gm import certs
from govkiosk.gm.certs import ChainError, Revocation, TestAuthority

FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/ofd"


@pytest.fixture(scope="module")
def pki() -> Tuple[TestAuthority, certs.Issued, certs.Issued]:
    authority = TestAuthority()
    maker = authority.issue("seal maker CA", ca=True)
    signer = authority.issue("signer", issuer=maker)
    return authority, maker, signer


def test_a_chain_to_the_root_validates(pki) -> None:
    authority, maker, signer = pki
    path = certs.validate_chain(
        signer.certificate, [authority.root.certificate], [maker.certificate]
    )
    assert [certs.name(c) for c in path] == ["signer", "seal maker CA", "govkiosk SM2 test root"]
    assert certs.check_signature(authority.root.certificate, authority.root.certificate)


def test_an_unknown_root_is_untrusted(pki) -> None:
    _, maker, signer = pki
    other = TestAuthority("another root")
    with pytest.raises(ChainError) as refused:
        certs.validate_chain(signer.certificate, [other.root.certificate], [maker.certificate])
    assert refused.value.kind == "untrusted"
    assert "not a trusted seal authority" in str(refused.value)


def test_a_root_of_the_same_name_with_another_key_is_invalid(pki) -> None:
    _, maker, signer = pki
    impostor = TestAuthority("govkiosk SM2 test root")
    with pytest.raises(ChainError) as refused:
        certs.validate_chain(signer.certificate, [impostor.root.certificate], [maker.certificate])
    assert refused.value.kind == "invalid"


def test_a_changed_certificate_does_not_verify(pki) -> None:
    authority, _, _ = pki
    leaf = authority.issue("leaf")
    der = bytearray(leaf.certificate.dump())
    index = der.find(b"leaf")
    der[index] ^= 0x20
    changed = certs.load_certificate(bytes(der))
    assert not certs.check_signature(changed, authority.root.certificate)
    with pytest.raises(ChainError) as refused:
        certs.validate_chain(changed, [authority.root.certificate])
    assert refused.value.kind == "invalid"


def test_validity_is_checked_at_the_given_time(pki) -> None:
    authority, maker, signer = pki
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=800)
    with pytest.raises(ChainError) as refused:
        certs.validate_chain(
            signer.certificate, [authority.root.certificate], [maker.certificate], at=later
        )
    assert refused.value.kind == "expired"


def test_a_revoked_certificate_is_refused_and_the_policy_decides_the_unknown(pki) -> None:
    authority, maker, signer = pki
    roots, mids = [authority.root.certificate], [maker.certificate]
    crl = authority.crl([maker.certificate])
    with pytest.raises(ChainError) as refused:
        certs.validate_chain(signer.certificate, roots, mids, revocation=Revocation(crls=[crl]))
    assert refused.value.kind == "revoked"
    soft = Revocation()
    certs.validate_chain(signer.certificate, roots, mids, revocation=soft)
    assert soft.notes == [
        "signer: revocation not checked (no CRL for its issuer is configured)",
        "seal maker CA: revocation not checked (no CRL for its issuer is configured)",
    ]
    with pytest.raises(ChainError) as hard:
        certs.validate_chain(
            signer.certificate, roots, mids, revocation=Revocation(policy="hard-fail")
        )
    assert hard.value.kind == "revocation"
    good = Revocation(crls=[authority.crl(), authority.crl(issuer=maker)], policy="hard-fail")
    assert len(certs.validate_chain(signer.certificate, roots, mids, revocation=good)) == 3
    forged = TestAuthority("govkiosk SM2 test root").crl()
    with pytest.raises(ChainError):
        certs.validate_chain(
            maker.certificate, roots, revocation=Revocation(crls=[forged], policy="hard-fail")
        )


@pytest.fixture
def crl_server(pki) -> Iterator[Tuple[str, TestAuthority, certs.Issued, List[str]]]:
    authority, _, _ = pki
    body = authority.crl()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/root.crl"
    yield url, authority, authority.issue("fetched", crl_url=url), hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_crl_distribution_points_are_fetched(crl_server) -> None:
    url, authority, leaf, hits = crl_server
    revocation = Revocation(fetch=True, policy="hard-fail", timeout=5)
    for _ in range(2):
        path = certs.validate_chain(
            leaf.certificate, [authority.root.certificate], revocation=revocation
        )
        assert len(path) == 2
    assert hits == ["/root.crl"]  # fetched once, then kept
    dead = authority.issue("dead link", crl_url="http://127.0.0.1:9/none.crl")
    soft = Revocation(fetch=True, timeout=2)
    certs.validate_chain(dead.certificate, [authority.root.certificate], revocation=soft)
    assert "unreachable" in soft.notes[0]
    assert url.startswith("http://127.0.0.1:")


def test_the_fixture_certificate_reads_and_names_its_issuer() -> None:
    cert = certs.load_certificate((FIXTURES / "sign_cert.pem").read_bytes())
    assert certs.name(cert) == "Test Certificate"
    assert certs.issuer_name(cert) == "OFD Reader and WriterROOT Certificate"
    assert certs.is_sm2(cert)
    start, end = certs.validity(cert)
    assert (start.year, end.year) == (2021, 2023)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_reads_and_issues_what_we_check(tmp_path: Path, pki) -> None:
    authority, maker, signer = pki
    (tmp_path / "root.pem").write_bytes(authority.root.pem())
    (tmp_path / "mid.pem").write_bytes(maker.pem())
    (tmp_path / "leaf.pem").write_bytes(signer.pem())
    text = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "leaf.pem"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert "SM2-with-SM3" in text
    assert "CN = signer" in text or "CN=signer" in text
    # a certificate OpenSSL issues (empty SM2 id) under a root OpenSSL makes
    key = tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "SM2", "-out", str(key)], check=True, timeout=30
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-x509",
            "-key",
            str(key),
            "-sm3",
            "-subj",
            "/CN=ossl root",
            "-days",
            "2",
            "-out",
            str(tmp_path / "ossl.pem"),
        ],
        check=True,
        timeout=30,
        capture_output=True,
    )
    root = certs.load_certificate((tmp_path / "ossl.pem").read_bytes())
    assert certs.check_signature(root, root)


@pytest.mark.fuzz
@settings(deadline=None)
@given(st.binary(max_size=600))
def test_garbage_certificates_raise_only_certificate_error(data: bytes) -> None:
    try:
        cert = certs.load_certificate(data)
        certs.public_key(cert)
    except certs.CertificateError:
        pass


def test_an_authority_kept_in_a_directory_is_the_same_next_time(tmp_path: Path) -> None:
    first = TestAuthority.in_directory(tmp_path / "sm2", "demo SM2 root")
    seal = first.issued_in(tmp_path / "sm2", "seal-police", "公安机关电子印章")
    again = TestAuthority.in_directory(tmp_path / "sm2", "demo SM2 root")
    assert again.root.certificate.dump() == first.root.certificate.dump()
    assert again.issued_in(tmp_path / "sm2", "seal-police", "x").key == seal.key
    assert (tmp_path / "sm2" / "sm2-root.key").stat().st_mode & 0o077 == 0
    assert certs.validate_chain(seal.certificate, [again.root.certificate])


def test_an_issuer_without_certificate_signing_in_its_key_usage_is_refused() -> None:
    authority = TestAuthority()
    # a CA certificate whose key usage lacks keyCertSign, as ofdrw's test root has
    leaf = authority.issue("leaf")
    odd = certs._certificate(
        subject=authority.root.certificate["tbs_certificate"]["subject"],
        issuer=authority.root.certificate["tbs_certificate"]["subject"],
        public=authority.root.key.public_key(),
        signer=authority.root.key,
        start=certs._now() - datetime.timedelta(days=1),
        end=certs._now() + datetime.timedelta(days=1),
        ca=True,
        usage={"digital_signature", "non_repudiation"},
    )
    with pytest.raises(ChainError) as refused:
        certs.validate_chain(leaf.certificate, [odd])
    assert str(refused.value) == (
        "govkiosk SM2 test root: its key usage does not include certificate signing"
    )
