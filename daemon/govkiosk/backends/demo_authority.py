"""The demo seal authority: a CA and one seal certificate per department (demo only).

Created with ``cryptography`` on first use in a directory (``--seal-dir``) and reused
afterwards, so a kiosk configured with ``[seal] trusted = ["<dir>/ca.pem"]`` keeps
accepting the demo service's certificates across restarts::

    ca.pem ca.key                 演示电子印章管理中心 (the trust anchor)
    seal-<dept>.pem seal-<dept>.key   one seal certificate per department
    rogue-ca.* rogue-seal-*       an authority no kiosk trusts (the "untrusted" switch)

:meth:`SealAuthority.seal` signs a PDF as PAdES (``/ETSI.CAdES.detached``) with pyHanko.
It is blocking CPU work: the service runs it in an executor.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_NAME = "演示电子印章管理中心"
ROGUE_CA_NAME = "未登记印章签发机构"
#: Department key → the name in its seal certificate.
DEPARTMENTS = {"police": "公安机关电子印章", "hrss": "人力资源和社会保障电子印章"}
VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class _Issued:
    cert_path: Path
    key_path: Path


class SealAuthority:
    """Seals PDFs for each department; keys live in ``directory``."""

    def __init__(self, directory: Path, *, rogue: bool = False) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        prefix = "rogue-" if rogue else ""
        ca = _ensure(directory / f"{prefix}ca", ROGUE_CA_NAME if rogue else CA_NAME, issuer=None)
        self.ca_path = ca.cert_path
        self._issued = {
            dept: _ensure(directory / f"{prefix}seal-{dept}", name, issuer=ca)
            for dept, name in DEPARTMENTS.items()
        }
        self._signers: Dict[str, Any] = {}  # loaded on first use

    def seal(self, pdf: bytes, department: str, reason: str) -> bytes:
        """``pdf`` with a PAdES signature by ``department``'s seal appended."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415
        from pyhanko.sign import fields, signers  # noqa: PLC0415

        signer = self._signers.get(department)
        if signer is None:
            issued = self._issued[department]
            signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
                str(issued.key_path), str(issued.cert_path), ca_chain_files=(str(self.ca_path),)
            )
            self._signers[department] = signer
        meta = signers.PdfSignatureMetadata(
            field_name="ElectronicSeal",
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        out = signers.PdfSigner(meta, signer).sign_pdf(writer)
        return bytes(out.getvalue())


def _ensure(stem: Path, name: str, issuer: Optional[_Issued]) -> _Issued:
    """Load or create ``stem.pem``/``stem.key``: a CA (no issuer) or a seal certificate."""
    issued = _Issued(stem.with_suffix(".pem"), stem.with_suffix(".key"))
    if issued.cert_path.exists() and issued.key_path.exists():
        return issued
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CA_NAME if issuer else name),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    if issuer is None:
        issuer_name, issuer_key = subject, key
    else:
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert_path.read_bytes())
        loaded = serialization.load_pem_private_key(issuer.key_path.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        issuer_name, issuer_key = issuer_cert.subject, loaded
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + VALIDITY)
        .add_extension(
            x509.BasicConstraints(ca=issuer is None, path_length=0 if issuer is None else None),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=issuer is not None,
                content_commitment=issuer is not None,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=issuer is None,
                crl_sign=issuer is None,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert = builder.sign(issuer_key, hashes.SHA256())
    issued.key_path.touch(mode=0o600)
    issued.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    issued.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return issued
