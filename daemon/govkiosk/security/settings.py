"""``[seal]``: which electronic seals the kiosk accepts on a certificate (§7.2 a).

::

    [seal]
    scheme = "pades"                              # the signature scheme to verify
    formats = ["pades", "sm2-pdf", "ofd-ses"]     # the seal formats accepted
    trusted = ["/etc/govkiosk/seal/ca.pem"]       # seal authorities' certificates (PEM)
    intermediates = []                            # CA certificates between them and signers
    crls = []                                     # CRL files (DER or PEM) of SM2 authorities
    fetch_crls = false                            # also read certificates' CRL URLs (http)
    crl_timeout = 3.0                             # seconds per CRL fetch or OCSP request
    ocsp = false                                  # ask the OCSP responders certificates name
    ocsp_responders = []                          # OCSP responders asked for every certificate
    revocation = "soft-fail"                      # "soft-fail", "hard-fail" or "off"

A seal is accepted only when its signer certificate chains to one of ``trusted``. The
trusted list holds the PAdES authorities (RSA/ECDSA, checked by pyHanko) and the SM2 seal
authorities (GB/T 38540 seals, SM2-signed PDFs) alike; each verifier takes the ones of its
kind. ``revocation`` is the SM2 path's policy when a certificate's status cannot be had (no
CRL configured or fetched, unreachable, stale): ``soft-fail`` accepts and logs the reason
(a kiosk on a closed network often reaches no CRL), ``hard-fail`` refuses; a certificate a
valid CRL lists is refused either way. OCSP (:mod:`govkiosk.gm.ocsp`) is asked first when
``ocsp`` or ``ocsp_responders`` give a responder: ``good`` passes, ``revoked`` refuses under
every policy but ``off``; an answer that cannot be had or trusted (``unknown``, unreachable,
badly signed, stale, another nonce) is "status unknown", which a CRL may still decide, else
``revocation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Tuple

from ..fields import seconds, setting

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
    #: The seal authorities' certificates (PEM files): a printed document's electronic seal must
    #: chain to one of them, else the document is refused and an alarm raised. RSA/ECDSA roots
    #: (PAdES) and SM2 roots (SM2 PDF signatures, OFD seals) go in this one list. Add the new
    #: authority's certificate before the old one is retired.
    trusted: Tuple[str, ...] = setting(
        ("/etc/govkiosk/seal/ca.pem",),
        expect="a list of one or more PEM certificate paths",
        check=lambda paths: len(paths) > 0 and all(p.strip() for p in paths),
    )
    #: Intermediate CA certificates (PEM) of the SM2 seal authorities.
    intermediates: Tuple[str, ...] = ()
    #: CRL files (DER or PEM) of the SM2 seal authorities.
    crls: Tuple[str, ...] = ()
    #: Also fetch the CRLs a certificate names (http URLs only).
    fetch_crls: bool = False
    #: Seconds to wait for one CRL fetch or one OCSP request.
    crl_timeout: float = seconds(3.0)
    #: Also ask the OCSP responders each SM2 certificate names in its Authority
    #: Information Access (http URLs only).
    ocsp: bool = False
    #: OCSP responder URLs (http) asked about every SM2 certificate of a seal's chain,
    #: before the ones certificates name.
    ocsp_responders: Tuple[str, ...] = setting(
        (),
        expect="a list of http:// URLs",
        check=lambda urls: all(u.startswith("http://") for u in urls),
    )
    #: What an unknown revocation status means (see the module).
    revocation: Literal["soft-fail", "hard-fail", "off"] = "soft-fail"
