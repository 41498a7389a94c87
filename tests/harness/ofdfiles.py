"""OFD test material: the fixture documents made by ofdrw (../shared/fixtures/ofd), a way to
rebuild one with files changed, added or removed, and the seal picture from a seal file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Dict, Iterable, Optional

OFD_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "ofd"
DOCUMENTS = ("helloworld", "keyword", "containsJPEG", "SESV4SignDoc", "signedFile")


def fixture(name: str) -> bytes:
    return (OFD_FIXTURES / f"{name}.ofd").read_bytes()


def rebuild(
    data: bytes,
    replace: Optional[Dict[str, bytes]] = None,
    drop: Iterable[str] = (),
    add: Optional[Dict[str, bytes]] = None,
) -> bytes:
    """``data`` (a zip) written again with entries replaced, dropped or added."""
    replace = replace or {}
    dropped = set(drop)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as target:
        for info in source.infolist():
            if info.filename in dropped:
                continue
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


def entry(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def seal_picture(seal_file: str = "UserV4.esl") -> bytes:
    """The PNG picture an SES seal carries (cut out of the DER by its PNG signature)."""
    data = (OFD_FIXTURES / seal_file).read_bytes()
    start = data.index(b"\x89PNG\r\n\x1a\n")
    end = data.index(b"IEND", start) + 8
    return data[start:end]
