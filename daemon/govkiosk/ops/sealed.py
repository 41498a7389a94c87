"""Secrets in command parameters, sealed for one kiosk (ECIES over its certificate key).

A parameter that is a secret — the USB maintenance token — travels as
``{"epk", "nonce", "ct"}``: an ephemeral P-256 key agreed with the kiosk certificate's key
(ECDH), HKDF-SHA256 into an AES-256-GCM key, the command's ``cmd_id`` as associated data.
Only that kiosk can open it, only for that command; the broker and whoever can read the
topic see ciphertext. The certificate is the one ops already checks replies against.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any, Dict, Mapping

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import GovkioskError
from .envelope import b64

INFO = b"govkiosk sealed parameter v1"
FIELDS = {"epk", "nonce", "ct"}


class SealedParamError(GovkioskError):
    """A sealed parameter that this kiosk cannot open (damaged, for another kiosk or command)."""


def _key(private: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    shared = private.exchange(ec.ECDH(), peer)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(shared)


def seal_for(certificate: x509.Certificate, secret: str, cmd_id: str) -> Dict[str, str]:
    """``secret`` sealed for the kiosk of ``certificate``, bound to ``cmd_id``."""
    kiosk = certificate.public_key()
    if not isinstance(kiosk, ec.EllipticCurvePublicKey):
        raise SealedParamError("the kiosk certificate is not an EC key")
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    nonce = os.urandom(12)
    sealed = AESGCM(_key(ephemeral, kiosk)).encrypt(nonce, secret.encode("utf-8"), cmd_id.encode())
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"epk": b64(point), "nonce": b64(nonce), "ct": b64(sealed)}


def open_sealed(private: ec.EllipticCurvePrivateKey, document: Any, cmd_id: str) -> str:
    """The secret in ``document``; :class:`SealedParamError` if this kiosk cannot open it."""
    if not isinstance(document, Mapping) or set(document) != FIELDS:
        raise SealedParamError("expected a sealed parameter {epk, nonce, ct}")
    try:
        raw: Dict[str, bytes] = {
            k: base64.b64decode(str(document[k]), validate=True) for k in FIELDS
        }
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw["epk"])
        plain = AESGCM(_key(private, peer)).decrypt(raw["nonce"], raw["ct"], cmd_id.encode())
        return plain.decode("utf-8")
    except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
        raise SealedParamError("the sealed parameter does not open on this kiosk") from None
