"""SM2 signing for a key the kiosk holds (govkiosk.gm.sm2.sign_digest): the blinded ladder
gives the same points as the verification arithmetic, the GM/T 0003 example still comes
out, signatures verify with independent verifiers (gmssl, OpenSSL), the nonce is hedged
(a stuck random source still gives a different nonce per message) and a faulty result
never leaves."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.gm import sm2
from govkiosk.gm.errors import GmError
from govkiosk.gm.sm2 import SM2P256, PrivateKey
from test_gm_sm2 import ALICE, D_A, TEST_CURVE, K

N = SM2P256.n


@pytest.mark.parametrize("curve", [SM2P256, TEST_CURVE], ids=["sm2p256v1", "annex-a"])
@settings(deadline=None, max_examples=40)
@given(k=st.one_of(st.integers(min_value=1, max_value=N - 1), st.sampled_from([1, 2, 3, N - 1])))
def test_the_blinded_ladder_gives_the_comb_point(curve: sm2.Curve, k: int) -> None:
    k = k % (curve.n - 1) + 1
    assert sm2._base_multiply_blinded(curve, k) == sm2._affine(curve, sm2._base_multiply(curve, k))


def test_the_blinded_scalar_always_has_the_same_length_and_never_repeats() -> None:
    for k in (1, 2**255, N - 1, D_A):
        seen = set()
        for _ in range(20):
            scalar, bits = sm2._blinded(SM2P256, k)
            assert bits == N.bit_length() + sm2.BLINDING_BITS
            assert scalar.bit_length() == bits
            assert scalar % N == k
            seen.add(scalar)
        assert len(seen) == 20


def test_the_gmt0003_example_comes_out_of_the_hardened_path() -> None:
    key = PrivateKey(D_A, TEST_CURVE)
    for _ in range(3):  # the blinding changes every run; the signature does not
        signature = sm2.sign(key, b"message digest", ALICE, der=False, k=K)
        assert signature.hex() == (
            "40f1ec59f793d9f49e09dcef49130d4194f79fb1eed2caa55bacdb49c4e755d1"
            "6fc6dac32c5d5cf10c77dfb20f7c2eb667a457872fb09ec56327a67ec7deebe7"
        )


def test_the_public_key_by_ladder_is_the_published_one_and_kept() -> None:
    key = PrivateKey(D_A, TEST_CURVE)
    public = key.public_key()
    assert public.x == 0x0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A
    assert key.public_key() is public
    assert PrivateKey(D_A, TEST_CURVE) == key  # the kept point is no part of equality


def test_signatures_verify_with_gmssl() -> None:
    gmssl_sm2 = pytest.importorskip("gmssl.sm2")
    key = PrivateKey.generate()
    theirs = gmssl_sm2.CryptSM2(
        private_key=f"{key.d:064x}", public_key=key.public_key().to_bytes()[1:].hex()
    )
    for message in (b"reply", b"", b"x" * 1000):
        signature = sm2.sign(key, message, der=False)
        assert theirs.verify_with_sm3(signature.hex(), message)
        assert not theirs.verify_with_sm3(signature.hex(), message + b"!")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_signatures_verify_with_openssl(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    (tmp_path / "m").write_bytes(b"kiosk reply")
    (tmp_path / "sig").write_bytes(sm2.sign(key, b"kiosk reply"))
    result = subprocess.run(
        [
            *("openssl", "pkeyutl", "-verify", "-rawin", "-digest", "sm3"),
            *("-inkey", str(tmp_path / "key.pem"), "-in", str(tmp_path / "m")),
            *("-sigfile", str(tmp_path / "sig"), "-pkeyopt", "distid:1234567812345678"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if "unknown" in result.stderr.lower() or "not supported" in result.stderr.lower():
        pytest.skip(f"this openssl cannot verify SM2: {result.stderr[-200:]!r}")
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_the_nonce_is_fresh_and_survives_a_stuck_random_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = PrivateKey.generate()
    one, two = sm2.sign(key, b"same"), sm2.sign(key, b"same")
    assert one != two  # os.urandom makes every nonce new
    monkeypatch.setattr(sm2.os, "urandom", lambda size: b"\0" * size)
    stuck = {sm2.sign(key, message, der=False)[:32] for message in (b"a", b"b", b"c")}
    assert len(stuck) == 3  # r differs: the digest and the key still make k differ
    assert sm2.sign(key, b"a") == sm2.sign(key, b"a")  # RFC 6979 alone: deterministic
    assert sm2.verify(key.public_key(), b"a", sm2.sign(key, b"a"))


def test_a_faulty_signature_never_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    key = PrivateKey.generate()
    key.public_key()
    monkeypatch.setattr(sm2, "verify_digest", lambda *args: False)
    with pytest.raises(GmError, match="did not verify after signing"):
        sm2.sign(key, b"reply")


def test_a_given_k_that_makes_r_zero_is_refused() -> None:
    key = PrivateKey.generate()
    point = sm2._affine(SM2P256, sm2._base_multiply(SM2P256, 5))
    assert point is not None
    e = ((N - point[0]) % N).to_bytes(32, "big")  # e + x1 ≡ 0 (mod n)
    with pytest.raises(GmError, match="makes r or s zero"):
        sm2.sign_digest(key, e, k=5)
