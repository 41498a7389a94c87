"""``[seal]``: which electronic seals the kiosk accepts on a certificate (§7.2 a).

::

    [seal]
    scheme = "pades"                              # the signature scheme to verify
    trusted = ["/etc/govkiosk/seal/ca.pem"]       # seal authorities' certificates (PEM)

A seal is accepted only when its signer certificate chains to one of ``trusted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Tuple

from ..fields import setting


@dataclass(frozen=True)
class SealSettings:
    """The seal scheme and its trust anchors."""

    #: The signature scheme of sealed documents (PAdES).
    scheme: Literal["pades"] = "pades"
    #: The seal authorities' certificates (PEM files): a printed document's electronic seal must
    #: chain to one of them, else the document is refused and an alarm raised. Add the new
    #: authority's certificate before the old one is retired.
    trusted: Tuple[str, ...] = setting(
        ("/etc/govkiosk/seal/ca.pem",),
        expect="a list of one or more PEM certificate paths",
        check=lambda paths: len(paths) > 0 and all(p.strip() for p in paths),
    )
