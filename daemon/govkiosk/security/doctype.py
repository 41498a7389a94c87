"""What kind of document a department sent: PDF or OFD, told by content (§7.2 a).

A department states the document's content type (``application/pdf`` or
``application/ofd``, GB/T 33190-2016); :func:`sniff` tells it from the bytes as well — a
PDF starts ``%PDF-``, an OFD is a ZIP package whose root holds ``OFD.xml`` — and
:func:`checked` refuses an answer whose stated type and content disagree, so a
mislabelled document never reaches a renderer or a printer meant for the other kind.
"""

from __future__ import annotations

import io
import zipfile
from typing import Optional

PDF = "application/pdf"
OFD = "application/ofd"
CONTENT_TYPES = (PDF, OFD)
#: Short names, as the catalogue and the configuration write them.
FORMATS = {"pdf": PDF, "ofd": OFD}
ZIP_MAGIC = b"PK\x03\x04"


class DocumentTypeError(ValueError):
    """The stated content type is unknown or does not match the bytes."""


def sniff(data: bytes) -> Optional[str]:
    """:data:`PDF`, :data:`OFD` or ``None`` (neither), from the bytes alone.

    Only the ZIP's central directory is read (no member is decompressed)."""
    head = bytes(data[:8])
    if head.startswith(b"%PDF-"):
        return PDF
    if not head.startswith(ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return None
    return OFD if "OFD.xml" in names else None


def checked(content_type: str, data: bytes) -> str:
    """``content_type`` (parameters dropped) when the bytes are what it says, else
    :class:`DocumentTypeError` naming the disagreement."""
    stated = content_type.split(";", maxsplit=1)[0].strip().lower()
    if stated not in CONTENT_TYPES:
        raise DocumentTypeError(f"unknown document type {stated[:40]!r}")
    found = sniff(data)
    if found is None:
        raise DocumentTypeError(f"the document is neither PDF nor OFD (stated {stated})")
    if found != stated:
        raise DocumentTypeError(f"the document is stated {stated} but is {found}")
    return stated
