"""SM3 and SM2 (govkiosk.gm) against the published vectors, gmssl and OpenSSL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govkiosk.gm import sm2
from govkiosk.gm.errors import GmError
from govkiosk.gm.sm2 import Curve, PrivateKey, PublicKey
from govkiosk.gm.sm3 import SM3, sm3, sm3_python

#: GM/T 0003.2-2012 Annex A.2 (GB/T 32918.2): the 256-bit test curve and its example.
TEST_CURVE = Curve(
    "gmt0003-annex-a",
    p=0x8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3,
    a=0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    b=0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    n=0x8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7,
    gx=0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
    gy=0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
)
ALICE = b"ALICE123@YAHOO.COM"
D_A = 0x128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263
K = 0x6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F


def test_sm3_gbt32905_vectors() -> None:
    # GB/T 32905-2016 Annex A, examples 1 and 2
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert (
        sm3(b"abcd" * 16).hex()
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )
    assert sm3_python(b"abc") == sm3(b"abc")
    assert sm3_python(b"abcd" * 16) == sm3(b"abcd" * 16)


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300))
def test_sm3_python_matches_openssl_and_streams(data: bytes, cut: int) -> None:
    incremental = SM3()
    incremental.update(data[:cut])
    incremental.update(data[cut:])
    assert incremental.digest() == sm3(data) == sm3_python(data)


def test_sm2_gmt0003_annex_a_example() -> None:
    key = PrivateKey(D_A, TEST_CURVE)
    public = key.public_key()
    assert public.x == 0x0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A
    assert public.y == 0x7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857
    assert sm2.z_value(public, ALICE).hex() == (
        "f4a38489e32b45b6f876e3ac2168ca392362dc8f23459c1d1146fc3dbfb7bc9a"
    )
    assert sm2.message_digest(public, b"message digest", ALICE).hex() == (
        "b524f552cd82b8b028476e005c377fb19a87e6fc682d48bb5d42e3d9b9effe76"
    )
    signature = sm2.sign(key, b"message digest", ALICE, der=False, k=K)
    assert signature.hex() == (
        "40f1ec59f793d9f49e09dcef49130d4194f79fb1eed2caa55bacdb49c4e755d1"
        "6fc6dac32c5d5cf10c77dfb20f7c2eb667a457872fb09ec56327a67ec7deebe7"
    )
    assert sm2.verify(public, b"message digest", signature, ALICE)
    assert not sm2.verify(public, b"message digesT", signature, ALICE)
    assert not sm2.verify(public, b"message digest", signature)  # another user id


def test_sm2_recommended_curve_parameters_hold() -> None:
    curve = sm2.SM2P256
    assert curve.contains(curve.gx, curve.gy)
    assert curve.a == curve.p - 3
    # n·G is the point at infinity: (n-1)·G = -G
    minus_g = PrivateKey(curve.n - 2).public_key()  # (n-2)·G
    assert sm2._affine(
        curve, sm2._add_affine(curve, (minus_g.x, minus_g.y, 1), (curve.gx, curve.gy))
    ) == (
        curve.gx,
        curve.p - curve.gy,
    )


def test_sign_and_verify_in_both_encodings() -> None:
    key = PrivateKey.generate()
    public = key.public_key()
    der = sm2.sign(key, b"seal")
    raw = sm2.sign(key, b"seal", der=False)
    assert der[0] == 0x30
    assert len(raw) == 64
    assert sm2.verify(public, b"seal", der)
    assert sm2.verify(public, b"seal", raw)
    assert not sm2.verify(public, b"seal!", der)
    assert not sm2.verify(PrivateKey.generate().public_key(), b"seal", der)
    r, s = sm2.decode_signature(der)
    assert sm2.verify(public, b"seal", sm2.encode_signature(r, s, der=False))
    assert not sm2.verify(public, b"seal", sm2.encode_signature(r, (s + 1) % sm2.SM2P256.n))
    assert not sm2.verify(public, b"seal", sm2.encode_signature(0, s))


@pytest.mark.fuzz
@settings(deadline=None)
@given(st.binary(max_size=80))
def test_garbage_signatures_never_raise(garbage: bytes) -> None:
    public = PrivateKey(12345).public_key()
    assert sm2.verify(public, b"m", garbage) is False


def test_public_key_encodings() -> None:
    public = PrivateKey.generate().public_key()
    data = public.to_bytes()
    assert PublicKey.from_bytes(data) == public
    assert PublicKey.from_bytes(data[1:]) == public
    compressed = bytes([2 + public.y % 2]) + data[1:33]
    assert PublicKey.from_bytes(compressed) == public
    assert PublicKey.from_der(public.to_der()) == public
    with pytest.raises(GmError):
        PublicKey.from_bytes(b"\x04" + bytes(64))  # (0, 0) is not on the curve
    with pytest.raises(GmError):
        PublicKey.from_bytes(b"\x04" + bytes(10))
    with pytest.raises(GmError):
        PublicKey.from_der(b"\x30\x03\x02\x01\x01")


def test_private_key_pem_round_trip() -> None:
    key = PrivateKey.generate()
    assert PrivateKey.from_pem(key.to_pem()) == key
    assert repr(key) == "PrivateKey(<sm2p256v1>)"  # the scalar is never printed
    with pytest.raises(GmError):
        PrivateKey.from_pem(b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")


def test_cross_check_with_gmssl() -> None:
    gmssl_sm2 = pytest.importorskip("gmssl.sm2")
    key = PrivateKey.generate()
    public = key.public_key()
    theirs = gmssl_sm2.CryptSM2(private_key=f"{key.d:064x}", public_key=public.to_bytes()[1:].hex())
    ours = sm2.sign(key, b"cross check", der=False)
    assert theirs.verify_with_sm3(ours.hex(), b"cross check")
    signed = bytes.fromhex(theirs.sign_with_sm3(b"cross check"))
    assert sm2.verify(public, b"cross check", signed)
    assert not sm2.verify(public, b"cross checks", signed)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_signs_with_the_default_id_we_verify(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(key.to_pem())
    (tmp_path / "m").write_bytes(b"kiosk")
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-sign",
            "-rawin",
            "-digest",
            "sm3",
            "-inkey",
            str(tmp_path / "key.pem"),
            "-in",
            str(tmp_path / "m"),
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        pytest.skip(f"this openssl cannot sign with SM2: {result.stderr[-200:]!r}")
    assert sm2.verify(key.public_key(), b"kiosk", result.stdout)


def test_cached_verification_answers_as_the_uncached() -> None:
    key = PrivateKey.generate()
    public = key.public_key()
    signature = sm2.sign(key, b"certificate")
    sm2.clear_cache()
    for _ in range(2):  # the second answer comes from the cache
        assert sm2.verify(public, b"certificate", signature, cached=True)
        assert not sm2.verify(public, b"certificatE", signature, cached=True)
        assert not sm2.verify(
            PrivateKey.generate().public_key(), b"certificate", signature, cached=True
        )
