"""``govkioskctl seal verify FILE [--json]``: a certificate's electronic seals, one by one.

For integrators checking what a department issues: the file — a PDF or an OFD, told by
its content, or an ``SES_Seal`` file on its own (``.esl``: its maker signature, validity
and the maker's trust) — goes through the kiosk's own seal verifier
(:mod:`govkiosk.security.seal`) with the trust anchors of the kiosk's ``[seal]`` section
(``--config``), or of ``--trusted`` PEM files instead, or none (``--no-trust``: on a desk
without a kiosk configuration, every issuer is reported untrusted and the rest is checked).
For each signature it prints the format, the signer, the seal's name and id, its maker,
its validity, whether the digests match (for OFD: every protected file), whether the
signature verifies, the trust verdict, the time stamp and what revocation checking found
(OCSP answers, or why the status could not be had); then the kiosk's verdict.

Exit status: 0 the kiosk would accept the document, 1 it would refuse it (tampered,
unsigned, expired, untrusted …), 2 the file cannot be read (or the trust anchors
cannot). Works offline, without the daemon. What the file says — names, ids, reasons —
is escaped before it reaches the terminal, as everything govkioskctl prints is.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..contract.logs import printable_lines

EXIT_VALID = 0
EXIT_REFUSED = 1
EXIT_UNREADABLE = 2
#: Largest file read: a certificate is well under this.
MAX_FILE = 64 * 1024 * 1024


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ..config import DEFAULT_PATH  # noqa: PLC0415 - only for this command

    seal = commands.add_parser("seal", help="electronic seals: govkioskctl seal verify FILE")
    actions = seal.add_subparsers(dest="seal_command", required=True)
    verify = actions.add_parser(
        "verify", help="check a certificate's seals (PDF or OFD) signature by signature"
    )
    verify.add_argument("file", type=Path, help="the certificate: a PDF or an OFD file")
    verify.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_PATH,
        help="the kiosk configuration whose [seal] section to use",
    )
    verify.add_argument(
        "--trusted",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="trust these root certificates instead of the configuration's (repeatable)",
    )
    verify.add_argument(
        "--no-trust",
        action="store_true",
        help="no trust anchors: check everything but the issuer (reported untrusted)",
    )
    verify.add_argument(
        "--json", action="store_true", dest="seal_json", help="print the findings as JSON"
    )


def run(args: argparse.Namespace) -> int:
    """The verdict's exit status; findings on stdout, problems on stderr."""
    from ..errors import GovkioskError  # noqa: PLC0415
    from ..security.seal import SealError, SealVerifier  # noqa: PLC0415

    try:
        data = _read(args.file)
        settings = _settings(args)
        if data[:1] == b"\x30":  # DER: a seal on its own (an .esl file)
            return _seal_file(args, data, settings)
        verifier = SealVerifier.from_settings(settings)
    except (OSError, GovkioskError, ValueError) as err:
        return _fail(str(err))
    try:
        examination = verifier.examine(data)
    except SealError as err:
        return _fail(f"{args.file}: {err}")
    unreadable = examination.refusal is not None and not examination.signatures
    if unreadable and examination.refusal is not None:
        code = examination.refusal.code
        if code in ("seal.unreadable", "seal.malformed"):
            return _fail(f"{args.file}: {examination.refusal}")
    document = _document(args.file, examination)
    shown = json.dumps(document, ensure_ascii=False, indent=2) if args.seal_json else None
    print(printable_lines(shown or _text(document)))
    return EXIT_VALID if examination.refusal is None else EXIT_REFUSED


def _seal_file(args: argparse.Namespace, data: bytes, settings: Any) -> int:
    """An SES_Seal file: its maker's signature, validity and the maker's trust."""
    from ..security.sesverify import SesVerifier  # noqa: PLC0415

    report = SesVerifier.from_settings(settings).verify_seal(data)
    document = {
        "file": str(args.file),
        "document_type": "application/x-ses-seal",
        "format": report.format,
        "seal_name": report.seal_name,
        "seal_id": report.seal_id,
        "maker": report.maker,
        "valid_from": _when(report.valid_from),
        "valid_to": _when(report.valid_to),
        "trusted": report.trusted,
        "trust": report.trust,
        "valid": report.trusted,
    }
    if args.seal_json:
        shown = json.dumps(document, ensure_ascii=False, indent=2)
    else:
        shown = "\n".join(
            [f"{args.file}: a seal on its own, {report.format}"]
            + [f"  {label:<11} {document[key]}" for key, label in SEAL_LABELS]
            + ["VALID seal" if report.trusted else f"REFUSED: {report.trust}"]
        )
    print(printable_lines(shown))
    return EXIT_VALID if report.trusted else EXIT_REFUSED


SEAL_LABELS = (
    ("seal_name", "seal"),
    ("seal_id", "seal id"),
    ("maker", "maker"),
    ("valid_from", "valid from"),
    ("valid_to", "valid to"),
    ("trust", "trust"),
)


def _read(path: Path) -> bytes:
    with path.open("rb") as stream:
        data = stream.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ValueError(f"{path}: larger than {MAX_FILE // (1024 * 1024)} MB")
    return data


def _settings(args: argparse.Namespace) -> Any:
    from ..security.settings import SealSettings  # noqa: PLC0415

    if args.trusted or args.no_trust:
        return SealSettings(trusted=tuple(str(p) for p in args.trusted))
    from ..config import load_config  # noqa: PLC0415

    return load_config(args.config).seal


def _when(value: Optional[datetime.datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


def _document(path: Path, examination: Any) -> Dict[str, Any]:
    signatures: List[Dict[str, Any]] = []
    for finding in examination.signatures:
        row = dataclasses.asdict(finding)
        for key in ("valid_from", "valid_to", "signed_at"):
            row[key] = _when(getattr(finding, key))
        row["valid"] = finding.valid
        signatures.append(row)
    refusal = examination.refusal
    return {
        "file": str(path),
        "document_type": examination.document_type,
        "scheme": examination.scheme,
        "valid": refusal is None,
        "code": "" if refusal is None else refusal.code,
        "reason": "" if refusal is None else str(refusal),
        "signatures": signatures,
    }


LABELS = (
    ("format", "format"),
    ("signer", "signer"),
    ("seal_name", "seal"),
    ("seal_id", "seal id"),
    ("maker", "maker"),
    ("validity", "validity"),
    ("signed_at", "signed at"),
    ("digest_ok", "digests"),
    ("signature_ok", "signature"),
    ("trusted", "trust"),
    ("timestamp", "time stamp"),
    ("problem", "problem"),
    ("notes", "revocation"),
)


def _text(document: Dict[str, Any]) -> str:
    lines = [f"{document['file']}: {document['document_type']}, {document['scheme']}"]
    for n, row in enumerate(document["signatures"], 1):
        lines.append(f"signature {n}: {'valid' if row['valid'] else 'REFUSED'}")
        shown = dict(row)
        shown["validity"] = (
            f"{row['valid_from'] or '?'} to {row['valid_to'] or '?'}"
            if row["valid_from"] or row["valid_to"]
            else ""
        )
        shown["digest_ok"] = "match" if row["digest_ok"] else "DO NOT MATCH"
        shown["signature_ok"] = "verifies" if row["signature_ok"] else "DOES NOT VERIFY"
        shown["trusted"] = "trusted" if row["trusted"] else "NOT TRUSTED"
        shown["notes"] = "; ".join(row.get("notes") or ())
        for key, label in LABELS:
            value = shown.get(key)
            if value not in (None, ""):
                lines.append(f"  {label:<11} {value}")
    verdict = (
        "VALID: the kiosk accepts this document"
        if document["valid"]
        else f"REFUSED ({document['code']}): {document['reason']}"
    )
    lines.append(verdict)
    return "\n".join(lines)


def _fail(message: str) -> int:
    print(f"govkioskctl seal: {printable_lines(message)}", file=sys.stderr)
    return EXIT_UNREADABLE
