"""The two ways a backup is encrypted, told apart by the archive's first line.

- ``aes-256-gcm`` (the default): AES-256-GCM, a 12-byte nonce, the first line authenticated
  with the contents.
- ``sm4`` (China's national algorithms, GB/T 32907 and GB/T 32905, for sites assessed under
  GB/T 39786): SM4-CTR encrypts, HMAC-SM3 authenticates the first line, the counter block
  and the ciphertext (encrypt-then-MAC). ``cryptography`` offers SM4 in CTR but not in GCM
  mode on the OpenSSL 3.0 of Debian 12 and the targets, hence the explicit MAC. Both keys
  come from the one 32-byte backup key through HMAC-SM3 with distinct labels.

An archive is ``MAGIC + nonce + sealed``; :func:`open_sealed` reads either kind whatever
``[backup] cipher`` says today, so a kiosk switched to SM4 still restores its AES backups.
"""

from __future__ import annotations

import hmac as std_hmac
import os
from typing import Callable, Dict, Tuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AES_MAGIC = b"GOVKIOSK-BACKUP-1\n"
SM4_MAGIC = b"GOVKIOSK-BACKUP-SM4-1\n"
AES_NONCE = 12
SM4_COUNTER = 16
MAC_BYTES = 32


class DamagedError(ValueError):
    """Wrong key, or the archive changed after it was written."""


def _sm3_mac(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SM3())
    for part in parts:
        mac.update(part)
    return mac.finalize()


def _sm4_keys(key: bytes) -> Tuple[bytes, bytes]:
    return _sm3_mac(key, b"govkiosk backup sm4")[:16], _sm3_mac(key, b"govkiosk backup mac")


def _sm4_ctr(key: bytes, counter: bytes, data: bytes) -> bytes:
    context = Cipher(algorithms.SM4(key), modes.CTR(counter)).encryptor()
    return context.update(data) + context.finalize()


def _seal_aes(key: bytes, plain: bytes) -> bytes:
    nonce = os.urandom(AES_NONCE)
    return AES_MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, AES_MAGIC)


def _open_aes(key: bytes, body: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(body[:AES_NONCE], body[AES_NONCE:], AES_MAGIC)
    except (InvalidTag, ValueError) as err:
        raise DamagedError("wrong key, or the backup is damaged") from err


def _seal_sm4(key: bytes, plain: bytes) -> bytes:
    enc_key, mac_key = _sm4_keys(key)
    counter = os.urandom(SM4_COUNTER)
    sealed = _sm4_ctr(enc_key, counter, plain)
    return SM4_MAGIC + counter + sealed + _sm3_mac(mac_key, SM4_MAGIC, counter, sealed)


def _open_sm4(key: bytes, body: bytes) -> bytes:
    enc_key, mac_key = _sm4_keys(key)
    if len(body) < SM4_COUNTER + MAC_BYTES:
        raise DamagedError("the backup is cut short")
    counter, sealed, tag = body[:SM4_COUNTER], body[SM4_COUNTER:-MAC_BYTES], body[-MAC_BYTES:]
    if not std_hmac.compare_digest(tag, _sm3_mac(mac_key, SM4_MAGIC, counter, sealed)):
        raise DamagedError("wrong key, or the backup is damaged")
    return _sm4_ctr(enc_key, counter, sealed)


SEALERS: Dict[str, Callable[[bytes, bytes], bytes]] = {"aes-256-gcm": _seal_aes, "sm4": _seal_sm4}
_OPENERS = ((SM4_MAGIC, _open_sm4), (AES_MAGIC, _open_aes))


def seal(cipher: str, key: bytes, plain: bytes) -> bytes:
    """``plain`` encrypted with ``cipher`` (a key of :data:`SEALERS`), ready to write."""
    return SEALERS[cipher](key, plain)


def is_sealed(blob: bytes) -> bool:
    """Whether ``blob`` starts like a backup of either kind."""
    return any(blob.startswith(magic) for magic, _ in _OPENERS)


def open_sealed(key: bytes, blob: bytes) -> bytes:
    """The plain archive; :class:`DamagedError` for a wrong key or changed bytes,
    :class:`ValueError` when ``blob`` is no backup at all."""
    for magic, opener in _OPENERS:
        if blob.startswith(magic):
            return opener(key, blob[len(magic) :])
    raise ValueError("not a govkiosk backup")
