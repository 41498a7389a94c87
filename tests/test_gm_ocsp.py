"""OCSP for the SM2 seal chain (govkiosk.gm.ocsp): a real responder on 127.0.0.1 answering
good, revoked, unknown, badly signed, stale or with another nonce, and what each does to
a chain under the soft-fail and hard-fail policies."""

from __future__ import annotations

import datetime
import socket
from typing import Iterator, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.gm import certs, ocsp
from govkiosk.gm.certs import ChainError, Revocation, TestAuthority
from harness.ocspd import Responder


@pytest.fixture(scope="module")
def pki() -> Tuple[TestAuthority, certs.Issued]:
    authority = TestAuthority("OCSP test root")
    return authority, authority.issue("seal signer")


@pytest.fixture
def responder(pki) -> Iterator[Responder]:
    authority, signer = pki
    with Responder(authority).know(signer) as running:
        yield running


def chain(signer: certs.Issued, authority: TestAuthority, revocation: Revocation) -> int:
    return len(
        certs.validate_chain(
            signer.certificate, [authority.root.certificate], revocation=revocation
        )
    )


def checker(url: str, **kwargs: object) -> ocsp.OcspChecker:
    return ocsp.OcspChecker(responders=(url,), timeout=5, **kwargs)  # type: ignore[arg-type]


def test_a_good_answer_passes_even_under_hard_fail_and_is_kept_until_next_update(
    pki, responder: Responder
) -> None:
    authority, signer = pki
    asking = checker(responder.url)
    for _ in range(3):
        revocation = Revocation(policy="hard-fail", ocsp=asking)
        assert chain(signer, authority, revocation) == 2
        assert revocation.notes == [f"seal signer: OCSP good ({responder.url})"]
    assert len(responder.requests) == 1  # the answer holds until its nextUpdate
    assert asking.asked == 1


def test_a_revoked_answer_is_refused_under_every_policy_but_off(pki, responder: Responder) -> None:
    authority, signer = pki
    responder.mode = "revoked"
    for policy in ("soft-fail", "hard-fail"):
        with pytest.raises(ChainError) as refused:
            chain(signer, authority, Revocation(policy=policy, ocsp=checker(responder.url)))
        assert refused.value.kind == "revoked"
        assert "revoked (OCSP http://127.0.0.1:" in str(refused.value)
    assert chain(signer, authority, Revocation(policy="off", ocsp=checker(responder.url))) == 2


def test_a_revocation_after_a_vouched_signing_time_does_not_refuse(pki, responder) -> None:
    authority, signer = pki
    responder.mode = "revoked"  # revoked five minutes ago
    signed = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    revocation = Revocation(policy="hard-fail", ocsp=checker(responder.url))
    path = certs.validate_chain(
        signer.certificate,
        [authority.root.certificate],
        revocation=revocation,
        at=signed,
        revoked_by=signed,
    )
    assert len(path) == 2
    assert revocation.notes[0].startswith("seal signer: OCSP revoked ")
    assert revocation.notes[0].endswith(f", after it signed ({responder.url})")


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("unknown", "the responder does not know the certificate"),
        ("wrong-signer", "the OCSP response's signature does not verify"),
        ("stale", "the OCSP answer is stale"),
        ("wrong-nonce", "the OCSP response's nonce is not the one asked with"),
        ("no-nonce", "the OCSP response carries no nonce"),
        ("delegated-without-eku", "is not certified for OCSP signing"),
        ("delegated-ecdsa-forged", "the OCSP response's signature does not verify"),
        ("garbage", "the OCSP response cannot be read"),
        ("error", "unreachable: HTTPError"),
    ],
)
def test_an_answer_that_cannot_be_trusted_is_status_unknown(
    pki, responder: Responder, mode: str, why: str
) -> None:
    authority, signer = pki
    responder.mode = mode
    soft = Revocation(ocsp=checker(responder.url))
    assert chain(signer, authority, soft) == 2
    assert len(soft.notes) == 1
    assert soft.notes[0].startswith(f"seal signer: revocation not checked (OCSP {responder.url}")
    assert why in soft.notes[0]
    with pytest.raises(ChainError) as hard:
        chain(signer, authority, Revocation(policy="hard-fail", ocsp=checker(responder.url)))
    assert hard.value.kind == "revocation"
    assert why in str(hard.value)


@pytest.mark.parametrize("mode", ["delegated", "delegated-ecdsa", "delegated-rsa"])
def test_a_delegated_responder_the_issuer_certified_is_believed(pki, responder, mode) -> None:
    authority, signer = pki
    responder.mode = mode  # its own key: SM2, or ECDSA/RSA checked by cryptography
    good = Revocation(policy="hard-fail", ocsp=checker(responder.url))
    assert chain(signer, authority, good) == 2
    assert good.notes == [f"seal signer: OCSP good ({responder.url})"]
    responder.mode = "revoked"
    responder.revoked.add(int(signer.certificate["tbs_certificate"]["serial_number"].native))
    with pytest.raises(ChainError):
        chain(signer, authority, Revocation(policy="hard-fail", ocsp=checker(responder.url)))


def test_a_certificate_the_responder_does_not_serve_is_unknown(pki, responder) -> None:
    authority, _ = pki
    other = authority.issue("another signer")
    soft = Revocation(ocsp=checker(responder.url))
    assert chain(other, authority, soft) == 2
    assert "answered 'unauthorized'" in soft.notes[0]


def test_a_responder_that_is_down_falls_under_the_policy(pki) -> None:
    authority, signer = pki
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/ocsp"
    soft = Revocation(ocsp=checker(url))
    assert chain(signer, authority, soft) == 2
    assert "unreachable: URLError" in soft.notes[0]
    with pytest.raises(ChainError) as hard:
        chain(signer, authority, Revocation(policy="hard-fail", ocsp=checker(url)))
    assert hard.value.kind == "revocation"
    # A CRL still decides when OCSP cannot: the chain passes, and the note says why OCSP did not.
    crl = Revocation(policy="hard-fail", crls=[authority.crl()], ocsp=checker(url))
    assert chain(signer, authority, crl) == 2
    assert crl.notes[0].startswith("seal signer: OCSP status unknown (OCSP http://127.0.0.1:")


def test_a_black_holed_responder_costs_one_timeout_then_is_not_asked_for_a_while(pki) -> None:
    authority, signer = pki
    maker = authority.issue("seal maker CA", ca=True)
    made_by_maker = authority.issue("seal signer 2", issuer=maker)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/ocsp"
        asking = ocsp.OcspChecker(responders=(url,), timeout=0.5)
        soft = Revocation(ocsp=asking)
        path = certs.validate_chain(
            made_by_maker.certificate,
            [authority.root.certificate],
            [maker.certificate],
            revocation=soft,
        )
        assert len(path) == 3
        assert asking.asked == 1  # the maker's certificate did not wait again
        assert "timeout" in soft.notes[0].lower()
        assert "not asked again for a while" in soft.notes[1]
        assert chain(signer, authority, Revocation(ocsp=asking)) == 2
        assert asking.asked == 1


def test_the_certificates_own_responder_is_asked_when_configured(pki, responder) -> None:
    authority, _ = pki
    named = authority.issue("signer with AIA", ocsp_url=responder.url)
    responder.know(named)
    assert ocsp.ocsp_urls(named.certificate) == [responder.url]
    hard = Revocation(policy="hard-fail", ocsp=ocsp.OcspChecker(use_aia=True, timeout=5))
    assert chain(named, authority, hard) == 2
    not_asked = Revocation(ocsp=ocsp.OcspChecker(use_aia=False))
    assert chain(named, authority, not_asked) == 2
    assert "no OCSP responder for it" in not_asked.notes[0]


def test_a_crl_revocation_wins_over_a_good_ocsp_answer(pki, responder) -> None:
    authority, signer = pki
    crl = authority.crl([signer.certificate])
    with pytest.raises(ChainError) as refused:
        chain(signer, authority, Revocation(crls=[crl], ocsp=checker(responder.url)))
    assert refused.value.kind == "revoked"


@pytest.fixture(scope="module")
def answered(pki) -> Tuple[bytes, bytes]:
    authority, signer = pki
    nonce = b"n" * 16
    good = ocsp.make_response(
        signer.certificate, authority.root.certificate, authority.root, nonce=nonce
    )
    return good, nonce


@pytest.mark.fuzz
@settings(deadline=None, max_examples=150)
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_ocsp_error(pki, answered, data: bytes) -> None:
    authority, signer = pki
    with pytest.raises(ocsp.OcspError):
        ocsp.check_response(data, signer.certificate, authority.root.certificate, b"n" * 16)


@pytest.mark.fuzz
@settings(deadline=None, max_examples=150)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_changed_byte_of_a_good_response_never_passes_as_another_answer(
    pki, answered, position: int, value: int
) -> None:
    authority, signer = pki
    good, nonce = answered
    position %= len(good)
    changed = good[:position] + bytes([value]) + good[position + 1 :]
    try:
        answer = ocsp.check_response(changed, signer.certificate, authority.root.certificate, nonce)
    except ocsp.OcspError:
        return
    # Only a change the signature does not cover (outer framing, the certificates list) may pass,
    # and then it says what the signed answer says.
    assert answer.status == "good"


@pytest.mark.parametrize("algorithm", ["2.16.840.1.101.3.4.2.1", "1.2.156.10197.1.401"])
def test_an_answer_by_a_sha256_or_sm3_cert_id_is_read(pki, answered, algorithm: str) -> None:
    authority, signer = pki
    _, nonce = answered
    response = ocsp.make_response(
        signer.certificate,
        authority.root.certificate,
        authority.root,
        nonce=nonce,
        cert_id_hash=algorithm,
    )
    answer = ocsp.check_response(response, signer.certificate, authority.root.certificate, nonce)
    assert answer.status == "good"
    other = authority.issue("another signer")
    with pytest.raises(ocsp.OcspError, match="does not answer for this certificate"):
        ocsp.check_response(response, other.certificate, authority.root.certificate, nonce)
