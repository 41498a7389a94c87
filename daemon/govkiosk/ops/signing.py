"""Signatures on both directions of the command channel.

Operators sign commands with Ed25519 keys, or SM2 keys (SM2 with SM3, GB/T 32918, for
sites assessed for national cryptography), whose public halves are pinned in the kiosk's
``[ops]`` configuration by key id with their algorithm. A command names the algorithm it
was signed with (``sig_alg``, covered by the signature; absent means Ed25519) and it must
be the pinned key's: a key is never tried under another algorithm.

The kiosk signs its replies (and the events it vouches for) with the private key of its
TLS client certificate (ECDSA P-256, ``sig_alg`` ``ecdsa-p256-sha256``, outside the signed
bytes as it always was): ops already trusts the site CA that issued that certificate, so
no second kiosk key has to be distributed. A site assessed for national cryptography sets
``[ops] reply_algorithm = "sm2-sm3"``: replies are then signed with the kiosk's SM2 reply
key, ``sig_alg`` ``sm2-sm3`` *inside* the signed bytes, and ops checks them against the
kiosk's SM2 reply certificate (published in its retained ``state`` as ``reply_cert``),
which the site's SM2 signing CA issued with the kiosk id as its name. A reply is checked
only under the algorithm it names, and only with a key of that algorithm: an SM2 reply
from a kiosk without an SM2 reply certificate, or an ECDSA reply from a kiosk that has
one, is refused. (OpenSSL, which mosquitto uses on the targets, refuses SM2 certificates
for TLS, so the TLS certificate itself stays ECDSA: see docs/national-crypto.md.)

SM2 signing (:func:`govkiosk.gm.sm2.sign`) blinds the nonce and the inversion and runs a
fixed-length ladder; docs/national-crypto.md says what Python integers leave exposed.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from ..contract.logs import printable
from ..errors import GovkioskError
from ..gm import certs, sm2
from ..gm.errors import GmError
from .envelope import EnvelopeError, Reason, Reply, b64, signed_bytes
from .sealed import open_sealed

SIG_ALG = "ecdsa-p256-sha256"
#: The algorithms of operator keys, as ``[[ops.operators]] algorithm`` and ``sig_alg`` name them.
ED25519 = "ed25519"
SM2 = "sm2-sm3"
OPERATOR_ALGORITHMS: Tuple[str, ...] = (ED25519, SM2)
_OperatorKey = Union[ed25519.Ed25519PrivateKey, sm2.PrivateKey]


class SigningError(GovkioskError):
    """A key or certificate cannot be read, or does not fit its use."""


@dataclass(frozen=True)
class OperatorSigner:
    """An operator's Ed25519 or SM2 key and the key id the kiosks pinned it under."""

    key_id: str
    key: _OperatorKey

    @classmethod
    def generate(cls, key_id: str, algorithm: str = ED25519) -> OperatorSigner:
        if algorithm == SM2:
            return cls(key_id, sm2.PrivateKey.generate())
        return cls(key_id, ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> OperatorSigner:
        try:
            pem = path.read_bytes()
        except OSError as err:
            raise SigningError(f"{path}: cannot be read: {err.strerror}") from err
        if b"EC PRIVATE KEY" in pem:  # SEC 1 on the SM2 curve, which cryptography does not know
            try:
                return cls(path.stem, sm2.PrivateKey.from_pem(pem))
            except GmError as err:
                raise SigningError(f"{path}: not an SM2 private key: {err}") from err
        key = _private_key(path)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise SigningError(f"{path}: not an Ed25519 or SM2 private key")
        return cls(path.stem, key)

    @property
    def algorithm(self) -> str:
        return SM2 if isinstance(self.key, sm2.PrivateKey) else ED25519

    def public_b64(self) -> str:
        if isinstance(self.key, sm2.PrivateKey):
            return b64(self.key.public_key().to_bytes())
        raw = self.key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return b64(raw)

    def private_pem(self) -> bytes:
        if isinstance(self.key, sm2.PrivateKey):
            return self.key.to_pem()
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.key, sm2.PrivateKey):
            return sm2.sign(self.key, data)
        return self.key.sign(data)

    def seal(self, topic_name: str, body: Dict[str, Any]) -> bytes:
        """The payload: ``body`` (which names this key id), the algorithm when it is not
        Ed25519, and the signature over both."""
        if self.algorithm != ED25519:
            body = {**body, "sig_alg": self.algorithm}
        signature = self.sign(signed_bytes(topic_name, body))
        return json.dumps({**body, "sig": b64(signature)}, ensure_ascii=False).encode("utf-8")


def operator_valid(algorithm: str, public_b64: str, data: bytes, signature: bytes) -> bool:
    """Whether an operator's key pinned with ``algorithm`` signed ``data``."""
    if algorithm == SM2:
        return sm2.verify(_sm2_public_key(public_b64), data, signature)
    try:
        _public_key(public_b64).verify(signature, data)
    except InvalidSignature:
        return False
    return True


@functools.lru_cache(maxsize=64)
def _public_key(public_b64: str) -> ed25519.Ed25519PublicKey:
    """A pinned key, decoded once (a flood of forged commands verifies against it often)."""
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))


@functools.lru_cache(maxsize=64)
def _sm2_public_key(public_b64: str) -> sm2.PublicKey:
    return sm2.PublicKey.from_bytes(base64.b64decode(public_b64))


class KioskSigner:
    """The kiosk's certificate key, signing replies — or its SM2 reply key, when given."""

    def __init__(self, key_path: Path, sm2_key_path: Optional[Path] = None) -> None:
        key = _private_key(key_path)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SigningError(f"{key_path}: not an EC private key (the CA issues P-256 keys)")
        self._key = key
        self._sm2: Optional[sm2.PrivateKey] = None
        if sm2_key_path is not None:
            try:
                self._sm2 = sm2.PrivateKey.from_pem(sm2_key_path.read_bytes())
            except OSError as err:
                raise SigningError(f"{sm2_key_path}: cannot be read: {err.strerror}") from err
            except GmError as err:
                raise SigningError(f"{sm2_key_path}: not an SM2 private key: {err}") from err
            self._sm2.public_key()  # computed once, now, off the event loop

    @property
    def algorithm(self) -> str:
        return SIG_ALG if self._sm2 is None else SM2

    def check_reply_certificate(self, data: bytes, kiosk_id: str) -> None:
        """Raise :class:`SigningError` unless ``data`` (PEM) is an SM2 certificate named
        ``kiosk_id`` for this signer's SM2 key: a mismatch would have ops refuse every reply."""
        if self._sm2 is None:
            raise SigningError("no SM2 reply key is configured")
        try:
            certificate = certs.load_certificate(data)
            public = certs.public_key(certificate)
        except GmError as err:
            raise SigningError(f"not an SM2 certificate: {err}") from err
        if certs.name(certificate) != kiosk_id:
            raise SigningError(f"names {certs.name(certificate)!r}, not the kiosk id {kiosk_id!r}")
        if public != self._sm2.public_key():
            raise SigningError("certifies another key than reply_key")

    def open_sealed(self, document: Any, cmd_id: str) -> str:
        """A parameter sealed for this kiosk and this command (:mod:`.sealed`)."""
        return open_sealed(self._key, document, cmd_id)

    def seal(self, topic_name: str, reply: Reply) -> bytes:
        """The signed reply. SM2 takes ~10 ms of CPU: callers run it in an executor."""
        return self.seal_document(topic_name, reply.body())

    def seal_document(self, topic_name: str, body: Dict[str, Any]) -> bytes:
        """An event the kiosk vouches for (``evt/acceptance``): ``body`` plus a signature
        over the topic and its canonical JSON, as replies are signed."""
        if self._sm2 is not None:
            body = {**body, "sig_alg": SM2}  # named inside what is signed
            signature = sm2.sign(self._sm2, signed_bytes(topic_name, body))
            return json.dumps({**body, "sig": b64(signature)}, ensure_ascii=False).encode("utf-8")
        signature = self._key.sign(signed_bytes(topic_name, body), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {**body, "sig_alg": SIG_ALG, "sig": b64(signature)}, ensure_ascii=False
        ).encode("utf-8")


def open_document(
    payload: bytes,
    topic_name: str,
    certificate: x509.Certificate,
    what: str = "document",
    *,
    sm2_certificate: Optional[Any] = None,
) -> Dict[str, Any]:
    """A document :meth:`KioskSigner.seal_document` signed (or a reply), checked against
    the kiosk's certificate — or, when it names ``sm2-sm3``, against the kiosk's SM2
    reply certificate ``sm2_certificate`` (asn1crypto, already checked against the SM2
    signing CA); raise if it does not verify. A kiosk with an SM2 reply certificate signs
    only with SM2: an ECDSA document from it is refused."""
    try:
        document = json.loads(payload.decode("utf-8"))
        signature = base64.b64decode(document.pop("sig"), validate=True)
        algorithm = document.get("sig_alg", SIG_ALG)
    except (UnicodeDecodeError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise EnvelopeError(Reason.MALFORMED, f"{what}: {err}") from None
    if algorithm == SM2:
        _check_sm2(document, topic_name, signature, sm2_certificate, what)
        document.pop("sig_alg")
        return dict(document)
    if algorithm != SIG_ALG:
        raise EnvelopeError(Reason.BAD_SIGNATURE, f"{what}: unknown sig_alg {printable(algorithm)}")
    if sm2_certificate is not None:
        raise EnvelopeError(
            Reason.BAD_SIGNATURE, f"{what}: signed {SIG_ALG}, but this kiosk signs with {SM2}"
        )
    document.pop("sig_alg", None)
    public = certificate.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise EnvelopeError(Reason.BAD_SIGNATURE, "kiosk certificate is not an EC key")
    try:
        public.verify(signature, signed_bytes(topic_name, document), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise EnvelopeError(Reason.BAD_SIGNATURE, f"{what} signature does not verify") from None
    return dict(document)


def _check_sm2(
    document: Dict[str, Any],
    topic_name: str,
    signature: bytes,
    sm2_certificate: Optional[Any],
    what: str,
) -> None:
    if sm2_certificate is None:
        raise EnvelopeError(
            Reason.BAD_SIGNATURE,
            f"{what}: signed {SM2}, but the kiosk has no SM2 reply certificate",
        )
    try:
        public = certs.public_key(sm2_certificate)
    except GmError:
        raise EnvelopeError(
            Reason.BAD_SIGNATURE, f"{what}: signed {SM2}, but the kiosk's reply key is not SM2"
        ) from None
    if not sm2.verify(public, signed_bytes(topic_name, document), signature):
        raise EnvelopeError(Reason.BAD_SIGNATURE, f"{what} signature does not verify")


def open_reply(
    payload: bytes,
    topic_name: str,
    certificate: x509.Certificate,
    *,
    sm2_certificate: Optional[Any] = None,
) -> Reply:
    """Check a kiosk's signed reply against its certificate (or its SM2 reply certificate:
    :func:`open_document`); raise if it does not verify."""
    document = open_document(
        payload, topic_name, certificate, "reply", sm2_certificate=sm2_certificate
    )
    return Reply.from_body(document)


def load_sm2_reply_certificate(data: bytes, kiosk_id: str, sm2_ca: Any) -> Any:
    """The kiosk's SM2 reply certificate (PEM) if ``sm2_ca`` (the site's SM2 signing CA,
    asn1crypto) issued it to ``kiosk_id`` and it is valid now; :class:`SigningError` if not."""
    try:
        certificate = certs.load_certificate(data)
        certs.public_key(certificate)
        if certs.name(certificate) != kiosk_id:
            raise SigningError(f"the SM2 reply certificate names {certs.name(certificate)!r}")
        certs.validate_chain(certificate, [sm2_ca])
    except GmError as err:
        raise SigningError(f"the SM2 reply certificate of {kiosk_id}: {err}") from err
    return certificate


def load_certificate(data: Union[bytes, Path]) -> x509.Certificate:
    pem = data.read_bytes() if isinstance(data, Path) else data
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as err:
        raise SigningError(f"not a PEM certificate: {err}") from err


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca`` signed ``certificate`` (works with cryptography 38, Debian 12's)."""
    public = ca.public_key()
    if certificate.issuer != ca.subject or not isinstance(public, ec.EllipticCurvePublicKey):
        return False
    hash_algorithm = certificate.signature_hash_algorithm
    if hash_algorithm is None:
        return False
    try:
        public.verify(
            certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hash_algorithm)
        )
    except InvalidSignature:
        return False
    return True


def _private_key(path: Path) -> Any:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as err:
        raise SigningError(f"{path}: cannot be read: {err.strerror}") from err
    except (ValueError, TypeError) as err:
        raise SigningError(f"{path}: not a PEM private key: {err}") from err
