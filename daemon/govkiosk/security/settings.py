"""``[seal]``: which electronic seals the kiosk accepts on a certificate (§7.2 a).

::

    [seal]
    scheme = "pades"                              # the signature scheme to verify
    formats = ["pades", "sm2-pdf", "ofd-ses"]     # the seal formats accepted
    trusted = ["/etc/govkiosk/seal/ca.pem"]       # seal authorities' certificates (PEM)

A seal is accepted only when its signer certificate chains to one of ``trusted``: RSA and
ECDSA roots for PAdES, SM2 roots for SM2 PDF signatures and OFD electronic seals, in the
one list (each scheme takes the roots of its kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Tuple

from ..fields import setting

#: PAdES (RSA/ECDSA CMS in a PDF), SM2/SM3 CMS in a PDF, SES seals in an OFD.
SEAL_FORMATS = ("pades", "sm2-pdf", "ofd-ses")


@dataclass(frozen=True)
class SealSettings:
    """The seal scheme and its trust anchors."""

    #: The signature scheme of sealed documents (PAdES).
    scheme: Literal["pades"] = "pades"
    #: The seal formats accepted, chosen by each document's content: ``pades`` (a PDF
    #: signed with RSA/ECDSA), ``sm2-pdf`` (a PDF signed with SM2/SM3), ``ofd-ses`` (an
    #: OFD with GB/T 38540 or GM/T 0031 electronic seals). A document of another format
    #: is refused (seal.untrusted).
    formats: Tuple[str, ...] = setting(
        SEAL_FORMATS,
        expect=f"a list of one or more of {', '.join(SEAL_FORMATS)}",
        check=lambda names: len(names) > 0 and all(n in SEAL_FORMATS for n in names),
    )
    trusted: Tuple[str, ...] = setting(
        ("/etc/govkiosk/seal/ca.pem",),
        expect="a list of one or more PEM certificate paths",
        check=lambda paths: len(paths) > 0 and all(p.strip() for p in paths),
    )
