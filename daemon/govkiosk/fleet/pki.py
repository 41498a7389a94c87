"""A small site certificate authority: the broker's server certificate, kiosk and operator
client certificates (the CN is the identity the broker turns into a username).

``govkioskctl fleet ca …`` keeps one in a directory (``ca.crt`` + ``ca.key``, mode 0600);
the tests make throwaway ones. Keys are ECDSA P-256: quick to generate on a small machine
and accepted by OpenSSL, mosquitto and CUPS; the kiosk's key also signs its ops replies.

A site assessed for national cryptography also keeps an SM2 signing CA beside it
(:class:`Sm2SigningAuthority`, ``sm2-ca.pem`` + ``sm2-ca.key``): it issues each kiosk an
SM2 reply certificate (``fleet ca issue-kiosk --sm2-reply``) whose key signs the kiosk's
replies instead of the TLS key. It issues no TLS certificates: the targets' OpenSSL
cannot do TLS with SM2 (docs/national-crypto.md).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, List, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import GovkioskError
from ..gm import certs

VALIDITY = datetime.timedelta(days=30)  #: what tests issue; ``fleet ca`` passes its own
CA_VALIDITY = datetime.timedelta(days=3650)
# A kiosk's clock may lag a little until NTP catches up; a backdated start avoids "not yet valid".
BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Credential:
    """A certificate with its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def common_name(self) -> str:
        return str(self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, stem: str) -> Tuple[Path, Path]:
        """Write ``<stem>.crt`` and ``<stem>.key`` (mode 0600); return both paths."""
        directory.mkdir(parents=True, exist_ok=True)
        cert = directory / f"{stem}.crt"
        key = directory / f"{stem}.key"
        cert.write_bytes(self.cert_pem())
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.key_pem())
        return cert, key


class PkiError(GovkioskError):
    """The site CA cannot be read or would be overwritten."""


class CertificateAuthority:
    """A self-signed root that issues server and client certificates."""

    def __init__(
        self,
        common_name: str = "govkiosk test CA",
        *,
        credential: Optional[Credential] = None,
        validity: datetime.timedelta = VALIDITY,
    ) -> None:
        self.validity = validity
        if credential is not None:
            self.credential = credential
            return
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(common_name)
        builder = (
            _builder(name, name, key.public_key(), CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        self.credential = Credential(builder.sign(key, hashes.SHA256()), key)

    @classmethod
    def load(cls, directory: Path, validity: datetime.timedelta = VALIDITY) -> CertificateAuthority:
        """The CA kept in ``directory`` by :meth:`save`."""
        try:
            certificate = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
            key = serialization.load_pem_private_key(
                (directory / "ca.key").read_bytes(), password=None
            )
        except OSError as err:
            raise PkiError(f"{directory}: no site CA here ({err.strerror})") from err
        except ValueError as err:
            raise PkiError(f"{directory}: the CA files are damaged: {err}") from err
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{directory}/ca.key: not an EC key")
        return cls(credential=Credential(certificate, key), validity=validity)

    def save(self, directory: Path) -> None:
        """Keep the CA (certificate and key) in ``directory``."""
        if (directory / "ca.key").exists():
            raise PkiError(f"{directory}: a CA is already there; it is never overwritten")
        self.credential.write(directory, "ca")

    def cert_pem(self) -> bytes:
        return self.credential.cert_pem()

    def write(self, directory: Path, stem: str = "ca") -> Path:
        """Write the CA certificate (not its key) as ``<stem>.crt``; return its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{stem}.crt"
        path.write_bytes(self.cert_pem())
        return path

    def issue_server(
        self, hosts: Iterable[str] = ("127.0.0.1", "localhost"), common_name: Optional[str] = None
    ) -> Credential:
        """A TLS server certificate whose subjectAltName covers ``hosts`` (IPs or DNS names)."""
        names = list(hosts)
        return self.issue(common_name or names[0], ExtendedKeyUsageOID.SERVER_AUTH, names)

    def issue_client(self, common_name: str) -> Credential:
        """A TLS client certificate; brokers with ``use_identity_as_username`` read the CN."""
        return self.issue(common_name, ExtendedKeyUsageOID.CLIENT_AUTH)

    def issue(
        self, common_name: str, usage: x509.ObjectIdentifier, hosts: Iterable[str] = ()
    ) -> Credential:
        key = ec.generate_private_key(ec.SECP256R1())
        issuer = self.credential.certificate
        builder = (
            _builder(_name(common_name), issuer.subject, key.public_key(), self.validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.credential.key.public_key()
                ),
                critical=False,
            )
        )
        alt_names = _alt_names(hosts)
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        return Credential(builder.sign(self.credential.key, hashes.SHA256()), key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    validity: datetime.timedelta,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + validity)
    )


def _alt_names(hosts: Iterable[str]) -> List[x509.GeneralName]:
    names: List[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


class Sm2SigningAuthority:
    """The site's SM2 signing CA: kiosks' SM2 reply certificates (not TLS)."""

    STEM = "sm2-ca"

    def __init__(self, authority: certs.TestAuthority) -> None:
        self._authority = authority

    @property
    def certificate(self) -> Any:
        return self._authority.root.certificate

    @classmethod
    def create(cls, common_name: str = "govkiosk site SM2 signing CA") -> Sm2SigningAuthority:
        return cls(certs.TestAuthority(common_name, organization="govkiosk site"))

    @classmethod
    def load(cls, directory: Path) -> Sm2SigningAuthority:
        """The SM2 CA kept in ``directory`` by :meth:`save`."""
        try:
            issued = certs.Issued.load(directory / cls.STEM)
        except OSError as err:
            raise PkiError(f"{directory}: no SM2 signing CA here ({err.strerror})") from err
        except GovkioskError as err:
            raise PkiError(f"{directory}: the SM2 CA files are damaged: {err}") from err
        return cls(certs.TestAuthority.from_root(issued, "govkiosk site"))

    @classmethod
    def load_or_create(cls, directory: Path) -> Sm2SigningAuthority:
        if (directory / f"{cls.STEM}.key").exists():
            return cls.load(directory)
        made = cls.create()
        made.save(directory)
        return made

    def save(self, directory: Path) -> None:
        if (directory / f"{self.STEM}.key").exists():
            raise PkiError(f"{directory}: an SM2 CA is already there; it is never overwritten")
        directory.mkdir(parents=True, exist_ok=True)
        self._authority.root.save(directory / self.STEM)

    def cert_pem(self) -> bytes:
        return self._authority.root.pem()

    def issue_reply(self, kiosk_id: str, validity: datetime.timedelta = VALIDITY) -> certs.Issued:
        """An SM2 certificate named ``kiosk_id`` whose key signs that kiosk's replies."""
        return self._authority.issue(
            kiosk_id,
            not_before=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            - BACKDATE,
            days=max(1, validity.days),
        )
