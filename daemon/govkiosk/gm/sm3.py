"""SM3, the national hash function (GB/T 32905-2016, GM/T 0004-2012).

:func:`sm3` and :class:`SM3` use OpenSSL's SM3 through ``cryptography`` (OpenSSL 1.1.1 and
3.x both carry it, as do Kylin's and UOS's builds). An OpenSSL built without SM3 (the
``no-sm3`` option of some FIPS builds) falls back to the pure-Python compression function
below, which is also the cross-check in the tests; it hashes about 1 MB/s, enough for seal
structures and a certificate's few pages.
"""

from __future__ import annotations

import struct
from typing import List, Optional

DIGEST_SIZE = 32

_IV = (
    0x7380166F,
    0x4914B2B9,
    0x172442D7,
    0xDA8A0600,
    0xA96F30BC,
    0x163138AA,
    0xE38DEE4D,
    0xB0FB0E4E,
)
_MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & _MASK


_T = [_rotl(0x79CC4519 if j < 16 else 0x7A879D8A, j) for j in range(64)]


def _compress(v: List[int], block: bytes) -> List[int]:
    w = list(struct.unpack(">16I", block))
    for j in range(16, 68):
        x = w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)
        p1 = x ^ _rotl(x, 15) ^ _rotl(x, 23)
        w.append(p1 ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    a, b, c, d, e, f, g, h = v
    for j in range(64):
        a12 = _rotl(a, 12)
        ss1 = _rotl((a12 + e + _T[j]) & _MASK, 7)
        ss2 = ss1 ^ a12
        if j < 16:
            ff = a ^ b ^ c
            gg = e ^ f ^ g
        else:
            ff = (a & b) | (a & c) | (b & c)
            gg = (e & f) | (~e & g)
        tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) & _MASK
        tt2 = (gg + h + ss1 + w[j]) & _MASK
        d, c, b, a = c, _rotl(b, 9), a, tt1
        h, g, f = g, _rotl(f, 19), e
        e = tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17)
    return [x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h))]


def sm3_python(data: bytes) -> bytes:
    """SM3 in pure Python (the fallback and the tests' cross-check)."""
    length = len(data) * 8
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack(">Q", length)
    v = list(_IV)
    for offset in range(0, len(padded), 64):
        v = _compress(v, padded[offset : offset + 64])
    return struct.pack(">8I", *v)


def _openssl_has_sm3() -> bool:
    try:
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415

        digest = hashes.Hash(hashes.SM3())
        digest.update(b"abc")
        return digest.finalize()[:2] == b"\x66\xc7"
    except Exception:  # noqa: BLE001 - UnsupportedAlgorithm, or a cryptography without SM3
        return False


_OPENSSL = _openssl_has_sm3()


class SM3:
    """An incremental SM3 hash: ``update`` then ``digest`` (once)."""

    digest_size = DIGEST_SIZE

    def __init__(self, data: bytes = b"") -> None:
        self._parts: Optional[List[bytes]] = None
        self._hash = None
        if _OPENSSL:
            from cryptography.hazmat.primitives import hashes  # noqa: PLC0415

            self._hash = hashes.Hash(hashes.SM3())
        else:
            self._parts = []
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        elif self._parts is not None:
            self._parts.append(bytes(data))

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.finalize()
        return sm3_python(b"".join(self._parts or ()))


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 digest of ``data``."""
    return SM3(data).digest()


def backend() -> str:
    """``"openssl"`` or ``"python"``: which implementation :func:`sm3` uses here."""
    return "openssl" if _OPENSSL else "python"
