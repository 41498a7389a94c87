"""The acceptance report of ``govkioskctl check``: JSON, a Chinese PDF (事项调试检查表 and
验收报告), and a detached signature by the kiosk's key, kept under ``<state dir>/reports/``.

The signing key is the kiosk's Ed25519 key of ``[backends] key_file`` (the key the
department platforms enrolled): ``<name>.sig`` holds its key id and one signature per
file. Without a readable key the report says it is unsigned. The report carries no
personal data: check names, details and fixes only.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import __version__
from ..backends.signing import SigningError, load_private_key
from ..config import load_config
from ..tables import ConfigError

REPORTS = "reports"


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is pass, fail or skip; ``fix`` says what to do
    when it fails."""

    stage: str
    name: str
    status: str
    detail: str
    fix: str = ""
    #: Items only: what was exercised (``full``: fetch+seal+preview, ``health``, ``none``)
    #: and the test answer's reference (``TEST-…``).
    mode: str = ""
    reference: str = ""


def _row(check: Check) -> Dict[str, str]:
    row = dataclasses.asdict(check)
    for key in ("mode", "reference"):
        if not row[key]:
            del row[key]
    return row


def build(
    info: Dict[str, Any],
    checks: Sequence[Check],
    stages: Sequence[str],
    operator: str,
    now: datetime.datetime,
) -> Dict[str, Any]:
    """The report as a JSON-ready dict."""
    outcome = []
    for stage in stages:
        mine = [c for c in checks if c.stage == stage]
        status = "fail" if any(c.status == "fail" for c in mine) else "pass"
        outcome.append({"stage": stage, "status": status})
    return {
        "kind": "govkiosk-acceptance-report",
        "kiosk_id": str(info.get("kiosk_id", "")),
        "kiosk_name": str(info.get("name", "")),
        "hall": str(info.get("hall", "")),
        "versions": {"daemon": str(info.get("version", "")), "govkioskctl": __version__},
        "operator": operator,
        "time": now.isoformat(timespec="seconds"),
        "result": "fail" if any(s["status"] == "fail" for s in outcome) else "pass",
        "stages": outcome,
        "checks": [_row(c) for c in checks],
    }


def keep(
    report: Dict[str, Any], state_dir: Path, config_path: Path, out: Optional[Path] = None
) -> List[Path]:
    """Write the JSON, the PDF when reportlab is installed, and the signature; the paths.

    ``report`` gains ``signed_by``: the key id, or why it is unsigned."""
    signer = _signer(config_path)
    if isinstance(signer, str):
        report["signed_by"] = {"alg": "none", "unsigned": signer}
    else:
        report["signed_by"] = {"alg": "ed25519", "key_id": signer[0]}
    directory = state_dir / REPORTS
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report["time"].replace(":", "").replace("-", "")[:15]
    base = f"acceptance-{report['kiosk_id'] or 'unknown'}-{stamp}"
    files: Dict[str, bytes] = {
        f"{base}.json": json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
    }
    pdf = render_pdf(report)
    if pdf is not None:
        files[f"{base}.pdf"] = pdf
    signature: Dict[str, Any] = dict(report["signed_by"])
    if not isinstance(signer, str):
        key = signer[1]
        signature["signatures"] = {
            name: base64.b64encode(key.sign(data)).decode("ascii") for name, data in files.items()
        }
    files[f"{base}.sig"] = json.dumps(signature, indent=2).encode("utf-8")
    written = []
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        written.append(path)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for path in written:
            shutil.copy2(path, out / path.name)
    return written


def _signer(config_path: Path) -> Union[str, Tuple[str, Ed25519PrivateKey]]:
    """(key id, the kiosk's Ed25519 key), or why there is none."""
    try:
        config = load_config(config_path)
        key = load_private_key(Path(config.backends.key_file))
    except (ConfigError, SigningError) as err:
        return str(err)
    return config.backends.key_id or config.kiosk.id, key


def render_pdf(report: Dict[str, Any]) -> Optional[bytes]:
    """The report as a Chinese PDF; None when reportlab (the ``demo`` extra) or a Chinese
    font is missing: the JSON and its signature are the record then."""
    try:
        from . import acceptance_pdf  # noqa: PLC0415 - reportlab is an optional dependency
    except ImportError:
        return None
    return acceptance_pdf.render(report)
