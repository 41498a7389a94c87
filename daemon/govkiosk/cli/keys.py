"""``govkioskctl keys``: the kiosk's ops certificate and key (§8 f), read from the configuration.

- ``keys status``: days left of ``[ops] cert`` and ``[ops] ca``; exit 1 when one has
  expired or cannot be read, 0 otherwise (the daemon alarms 30 days ahead on its own).
- ``keys rotate``: a new P-256 key beside ``[ops] key`` (``<key>.new``, mode 0600) and a
  certificate signing request for the site CA (``<key>.csr``, CN = ``[kiosk] id``). The
  key in use is not touched.
- ``keys install CERT``: after the site CA signed the request, checks that ``CERT`` is for
  the new key, names this kiosk and is issued by ``[ops] ca``, then puts the certificate at
  ``[ops] cert`` and the new key at ``[ops] key`` (each written whole, then renamed; the old
  ones kept as ``.old``). ``systemctl restart govkioskd`` then connects with them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..config import DEFAULT_PATH, Config, load_config
from ..maintenance.certs import CertificateStatus, statuses
from ..maintenance.watch import CERT_WARN_DAYS
from ..ops.signing import SigningError, common_name, issued_by, load_certificate
from ..tables import ConfigError
from .output import table

EXIT_FAILED = 1


class KeysError(Exception):
    """A rotation step that cannot be done; nothing was changed."""


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "keys", help="the ops certificate and key: status, rotate, install (§8 f)"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help="main configuration file")
    actions = parser.add_subparsers(dest="keys_command", required=True)
    actions.add_parser("status", help="days left of [ops] cert and [ops] ca")
    actions.add_parser("rotate", help="a new key and a CSR for the site CA (<key>.new, <key>.csr)")
    install = actions.add_parser("install", help="put the CA-signed certificate and new key in use")
    install.add_argument("certificate", type=Path, help="the certificate the site CA issued")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ConfigError, KeysError, SigningError, OSError, ValueError) as err:
        print(f"govkioskctl keys: {err}", file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.keys_command == "status":
        return _status(config, bool(args.json))
    if args.keys_command == "rotate":
        key, csr = rotate(config)
        print(f"new key: {key}\nrequest: {csr}  (send it to the site CA)")
        print("then: govkioskctl keys install <certificate>; systemctl restart govkioskd")
        return 0
    installed = install(config, args.certificate)
    print(f"installed: {installed}; restart govkioskd to use it")
    return 0


def certificate_paths(config: Config) -> Dict[str, str]:
    return {"ops.cert": config.ops.cert, "ops.ca": config.ops.ca}


def _status(config: Config, as_json: bool) -> int:
    found = statuses(certificate_paths(config), datetime.datetime.now(datetime.timezone.utc))
    rows: List[Dict[str, Any]] = [_row(status) for status in found]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif rows:
        print(
            table(
                ["NAME", "DAYS-LEFT", "NOT-AFTER", "STATE", "PATH"],
                [
                    [r["name"], str(r["days_left"]), r["not_after"], r["state"], r["path"]]
                    for r in rows
                ],
            )
        )
    else:
        print("no certificates configured ([ops] cert and ca are empty)")
    return EXIT_FAILED if any(r["state"] in ("expired", "unreadable") for r in rows) else 0


def _row(status: CertificateStatus) -> Dict[str, Any]:
    if status.error or status.days_left is None or status.not_after is None:
        state = "unreadable"
    elif status.days_left < 0:
        state = "expired"
    elif status.days_left <= CERT_WARN_DAYS:
        state = "expiring"
    else:
        state = "ok"
    return {
        "name": status.name,
        "path": status.path,
        "subject": status.subject,
        "not_after": status.not_after.strftime("%Y-%m-%d") if status.not_after else "",
        "days_left": status.days_left,
        "state": state,
        "error": status.error,
    }


def _pending(config: Config) -> Tuple[Path, Path]:
    if not config.ops.key:
        raise KeysError("[ops] key is not set: no key to rotate")
    key = Path(config.ops.key)
    return key.with_name(key.name + ".new"), key.with_name(key.name + ".csr")


def rotate(config: Config) -> Tuple[Path, Path]:
    """Write a new key and its CSR beside ``[ops] key``; returns their paths."""
    new_key_path, csr_path = _pending(config)
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, config.kiosk.id)]))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(new_key_path, pem, 0o600)
    _write(csr_path, request.public_bytes(serialization.Encoding.PEM), 0o644)
    return new_key_path, csr_path


def install(config: Config, certificate_path: Path) -> Path:
    """Check the issued certificate against the new key, the kiosk id and the CA; use them."""
    new_key_path, csr_path = _pending(config)
    if not new_key_path.exists():
        raise KeysError(f"{new_key_path}: no new key; run govkioskctl keys rotate first")
    if not config.ops.cert or not config.ops.ca:
        raise KeysError("[ops] cert and ca must be set")
    pem = certificate_path.read_bytes()
    certificate = load_certificate(pem)
    key = serialization.load_pem_private_key(new_key_path.read_bytes(), password=None)
    if certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise KeysError(f"{certificate_path}: not issued for the new key {new_key_path}")
    if common_name(certificate) != config.kiosk.id:
        raise KeysError(
            f"{certificate_path}: CN {common_name(certificate)!r} is not the kiosk id "
            f"{config.kiosk.id!r}"
        )
    if not issued_by(certificate, load_certificate(Path(config.ops.ca))):
        raise KeysError(f"{certificate_path}: not issued by the site CA {config.ops.ca}")
    cert_path, key_path = Path(config.ops.cert), Path(config.ops.key)
    for current in (cert_path, key_path):
        if current.exists():
            shutil.copy2(current, current.with_name(current.name + ".old"))
    _write(cert_path, pem, 0o644)
    os.replace(new_key_path, key_path)
    csr_path.unlink(missing_ok=True)
    return cert_path


def _write(path: Path, data: bytes, mode: int) -> None:
    scratch = path.with_name(path.name + ".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)
