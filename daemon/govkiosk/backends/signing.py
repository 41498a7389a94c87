"""Request signatures between a kiosk and a department service (Ed25519).

Each kiosk holds its own Ed25519 key; the department knows the public half under the
kiosk's key id. A request carries four headers::

    X-Govkiosk-Key-Id     which key signed
    X-Govkiosk-Timestamp  seconds since the epoch (whole number)
    X-Govkiosk-Nonce      32 hex digits, never reused
    X-Govkiosk-Signature  base64 Ed25519 signature over the canonical string

The canonical string is ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256(body) hex``: the
signature binds the body without the verifier having to re-serialise JSON. The
verifier refuses a timestamp outside its clock-skew window and a nonce it has seen
within that window, so a captured request cannot be replayed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from pathlib import Path
from typing import Callable, Dict, Mapping, MutableMapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import GovkioskError

KEY_ID = "X-Govkiosk-Key-Id"
TIMESTAMP = "X-Govkiosk-Timestamp"
NONCE = "X-Govkiosk-Nonce"
SIGNATURE = "X-Govkiosk-Signature"
#: How far a request's timestamp may be from the verifier's clock, in seconds.
DEFAULT_SKEW = 300.0


class SigningError(GovkioskError):
    """A key cannot be used, or a request's signature is not accepted."""


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, digest)).encode("ascii")


class RequestSigner:
    """Signs requests with the kiosk's private key."""

    def __init__(
        self, key: Ed25519PrivateKey, key_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self.key_id = key_id
        self._clock = clock

    def headers(self, method: str, path: str, body: bytes) -> Dict[str, str]:
        timestamp = str(int(self._clock()))
        nonce = secrets.token_hex(16)
        signature = self._key.sign(canonical(method, path, timestamp, nonce, body))
        return {
            KEY_ID: self.key_id,
            TIMESTAMP: timestamp,
            NONCE: nonce,
            SIGNATURE: base64.b64encode(signature).decode("ascii"),
        }


class RequestVerifier:
    """The department's end: checks key, freshness, replay and signature."""

    def __init__(
        self,
        keys: Mapping[str, Ed25519PublicKey],
        *,
        skew: float = DEFAULT_SKEW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = dict(keys)
        self._skew = skew
        self._clock = clock
        self._seen: MutableMapping[str, float] = {}

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The key id that signed the request; :class:`SigningError` says why not."""
        key_id = headers.get(KEY_ID, "")
        key = self._keys.get(key_id)
        if key is None:
            raise SigningError(f"unknown key id {key_id!r}")
        timestamp, nonce = headers.get(TIMESTAMP, ""), headers.get(NONCE, "")
        if not timestamp.isdigit() or abs(int(timestamp) - self._clock()) > self._skew:
            raise SigningError("timestamp missing or outside the allowed clock skew")
        if len(nonce) != 32 or not all(c in "0123456789abcdef" for c in nonce):
            raise SigningError("nonce missing or malformed")
        try:
            signature = base64.b64decode(headers.get(SIGNATURE, ""), validate=True)
            key.verify(signature, canonical(method, path, timestamp, nonce, body))
        except (InvalidSignature, binascii.Error) as err:
            raise SigningError("signature does not verify") from err
        self._remember(f"{key_id}/{nonce}")
        return key_id

    def _remember(self, nonce: str) -> None:
        now = self._clock()
        for old in [n for n, at in self._seen.items() if now - at > 2 * self._skew]:
            del self._seen[old]
        if nonce in self._seen:
            raise SigningError("nonce already used (replayed request)")
        self._seen[nonce] = now


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The kiosk's key from a PEM (PKCS#8) file."""
    key = _load(path, "signing key", lambda data: serialization.load_pem_private_key(data, None))
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"signing key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A kiosk's public key (PEM, SubjectPublicKeyInfo) as a department holds it."""
    key = _load(path, "public key", serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"public key {path} is not an Ed25519 key")
    return key


def _load(path: Path, what: str, parse: Callable[[bytes], object]) -> object:
    try:
        return parse(path.read_bytes())
    except OSError as err:
        raise SigningError(f"{what} {path} cannot be read: {err.strerror}") from err
    except ValueError as err:
        raise SigningError(f"{what} {path} is not a PEM {what}") from err


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Create a kiosk key: the private half (mode 0600) and the public half to enrol."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.touch(mode=0o600)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
