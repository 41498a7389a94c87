"""Throwaway certificate authorities for tests: the product's site CA (``govkiosk.ops.pki``),
generated afresh for each test."""

from __future__ import annotations

from govkiosk.fleet.pki import CertificateAuthority, Credential

__all__ = ["CertificateAuthority", "Credential"]
