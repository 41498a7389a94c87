"""The demo SM2 seal authority and the GB/T 38540 (v4) electronic seals it makes (demo only).

A department that issues OFD certificates seals them the Chinese way: an electronic
seal (``SES_Seal``) made by a seal maker (制章人) and a signature (``SES_Signature``) by
the seal's holder (签章人), both SM2 with SM3. :class:`Sm2SealAuthority` creates, on
first use in a directory, and reuses afterwards::

    sm2-root.pem sm2-root.key           演示国密电子印章根 (the trust anchor)
    sm2-maker.pem sm2-maker.key         the seal maker, issued by the root
    sm2-signer-<dept>.pem …key          one signer (签章人) certificate per department, by the root
    sm2-seal-<dept>.esl                 the department's SES_Seal (v4), signed by the maker
    rogue-sm2-* …                       an authority no kiosk trusts (the "untrusted" switch)

so a kiosk configured with ``[seal] trusted = [".../sm2-root.pem"]`` keeps accepting the
demo's OFD certificates across restarts. The seals and signatures are GB/T 38540-2020's
(v4), made with :mod:`govkiosk.security.sesmake`: the maker signs the seal, the holder
signs ``TBS_Sign``, whose ``dataHash`` is the SM3 digest of the OFD's ``Signature.xml``
(see :mod:`.demo_ofd`). Blocking CPU work: the service runs it in an executor.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from ..gm import certs, sm2
from ..security.sesmake import make_seal, make_signature

SM2_ROOT_NAME = "演示国密电子印章根证书"
SM2_MAKER_NAME = "演示电子印章制作中心"
ROGUE_SM2_ROOT_NAME = "未登记国密印章签发机构"
ORGANIZATION = "演示电子印章管理中心"
SEAL_VALIDITY = datetime.timedelta(days=3 * 365)
#: The seal picture's size on paper, mm (SES_ESPictrueInfo width and height).
SEAL_MM = 40
VID = "GOVKIOSKDEMO"


# -- the authority ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """A department's seal: the SES_Seal (DER) and the signer's certificate and key."""

    seal: bytes
    signer: certs.Issued
    name: str


class Sm2SealAuthority:
    """The root certifies the seal maker and each department's signer; the maker makes
    each department's seal, listing its signer (root → seal maker → seal → signer)."""

    def __init__(
        self,
        directory: Path,
        departments: Dict[str, Tuple[str, bytes]],
        *,
        rogue: bool = False,
        now: Optional[datetime.datetime] = None,
    ) -> None:
        """``departments``: key → (the seal's name, its picture as PNG)."""
        directory.mkdir(parents=True, exist_ok=True)
        prefix = "rogue-sm2-" if rogue else "sm2-"
        self.directory = directory
        self.root_path = directory / f"{prefix}root.pem"
        self._now = now
        root, maker = self._authority(prefix, ROGUE_SM2_ROOT_NAME if rogue else SM2_ROOT_NAME)
        self.root = root.certificate
        self.maker = maker.certificate
        self.maker_issued = maker  #: the seal maker's certificate and key (tests make seals)
        self._holders = {
            dept: self._holder(prefix, dept, name, picture, issuers=(root, maker))
            for dept, (name, picture) in departments.items()
        }

    def holder(self, department: str) -> Holder:
        return self._holders[department]

    def sign(self, department: str, signature_xml: bytes, property_info: str) -> bytes:
        """The ``SES_Signature`` (v4, DER) over ``signature_xml`` by ``department``."""
        holder = self._holders[department]
        return make_signature(
            seal=holder.seal,
            signer=holder.signer,
            protected=signature_xml,
            property_info=property_info,
            signed_at=_utc(self._now),
        )

    def _authority(self, prefix: str, root_name: str) -> Tuple[certs.Issued, certs.Issued]:
        root_files = (self.directory / f"{prefix}root.pem", self.directory / f"{prefix}root.key")
        maker_files = (
            self.directory / f"{prefix}maker.pem",
            self.directory / f"{prefix}maker.key",
        )
        if all(p.exists() for p in (*root_files, *maker_files)):
            return _load(*root_files), _load(*maker_files)
        authority = certs.TestAuthority(root_name, organization=ORGANIZATION)
        maker = authority.issue(SM2_MAKER_NAME, days=3650)
        _save(authority.root, *root_files)
        _save(maker, *maker_files)
        return authority.root, maker

    def _holder(
        self,
        prefix: str,
        department: str,
        name: str,
        picture: bytes,
        *,
        issuers: Tuple[certs.Issued, certs.Issued],
    ) -> Holder:
        root, maker = issuers
        cert_path = self.directory / f"{prefix}signer-{department}.pem"
        key_path = self.directory / f"{prefix}signer-{department}.key"
        seal_path = self.directory / f"{prefix}seal-{department}.esl"
        if cert_path.exists() and key_path.exists() and seal_path.exists():
            return Holder(seal_path.read_bytes(), _load(cert_path, key_path), name)
        signer = certs.TestAuthority(organization=ORGANIZATION).issue(name, issuer=root, days=3650)
        seal = _seal(maker, signer.certificate, name, picture, now=self._now)
        _save(signer, cert_path, key_path)
        seal_path.write_bytes(seal)
        return Holder(seal, signer, name)


def _seal(
    maker: certs.Issued,
    signer_certificate: Any,
    name: str,
    picture: bytes,
    *,
    now: Optional[datetime.datetime] = None,
    validity: datetime.timedelta = SEAL_VALIDITY,
) -> bytes:
    """A v4 ``SES_Seal`` (DER) for ``name``, listing ``signer_certificate``, by ``maker``."""
    start = _utc(now) - datetime.timedelta(days=1)
    return make_seal(
        maker=maker,
        signers=[signer_certificate],
        name=name,
        es_id=f"{secrets.randbelow(10**12):012d}{uuid.uuid4().hex[:8]}",
        picture=picture,
        valid_start=start,
        valid_end=start + validity,
        width_mm=SEAL_MM,
        height_mm=SEAL_MM,
        vid=VID,
    )


def _utc(now: Optional[datetime.datetime]) -> datetime.datetime:
    return (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)


def _save(issued: certs.Issued, cert_path: Path, key_path: Path) -> None:
    key_path.touch(mode=0o600)
    key_path.write_bytes(issued.key.to_pem())
    cert_path.write_bytes(issued.pem())


def _load(cert_path: Path, key_path: Path) -> certs.Issued:
    return certs.Issued(
        certs.load_certificate(cert_path.read_bytes()),
        sm2.PrivateKey.from_pem(key_path.read_bytes()),
    )
