"""How long the kiosk's certificates stay valid (§8 f): the ops client certificate and the
site CA it trusts. ``govkioskctl keys status`` prints this; the daily watch alarms on it.

A PEM file may hold a chain; the certificate that expires first counts. Only dates and
subjects are read: no private key is opened here.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional

from cryptography import x509

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class CertificateStatus:
    name: str  #: what the file is for (``ops.cert``, ``ops.ca``)
    path: str
    subject: str = ""
    #: The first ``notAfter`` in the file (UTC); ``None`` when it could not be read.
    not_after: Optional[datetime.datetime] = None
    days_left: Optional[int] = None
    error: str = ""


def _not_after(certificate: x509.Certificate) -> datetime.datetime:
    # cryptography >= 42 has the aware property; older ones (Kylin's) only the naive UTC one.
    aware = getattr(certificate, "not_valid_after_utc", None)
    if isinstance(aware, datetime.datetime):
        return aware
    naive: datetime.datetime = certificate.not_valid_after
    return naive.replace(tzinfo=datetime.timezone.utc)


def load_certificates(pem: bytes) -> List[x509.Certificate]:
    """Every certificate in a PEM file (``cryptography`` 38 reads only the first)."""
    blocks = _PEM_BLOCK.findall(pem)
    if not blocks:
        raise ValueError("no certificate in it")
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def certificate_status(name: str, path: str, now: datetime.datetime) -> CertificateStatus:
    """The status of one PEM file; blocking (reads the file): run it off the event loop."""
    try:
        certificates = load_certificates(Path(path).read_bytes())
    except OSError as err:
        return CertificateStatus(name, path, error=f"cannot be read: {err.strerror}")
    except ValueError as err:
        return CertificateStatus(name, path, error=f"not a PEM certificate: {err}")
    first = min(certificates, key=_not_after)
    not_after = _not_after(first)
    left = (not_after - now).total_seconds() / 86400.0
    return CertificateStatus(
        name, path, first.subject.rfc4514_string(), not_after, int(left // 1), ""
    )


def statuses(paths: Mapping[str, str], now: datetime.datetime) -> List[CertificateStatus]:
    """Every configured (non-empty) path's status, in the order given."""
    return [certificate_status(name, path, now) for name, path in paths.items() if path]
