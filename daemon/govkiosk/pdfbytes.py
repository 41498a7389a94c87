"""The bytes of a small PDF, for the documents the kiosk writes itself (a page of
captured materials, the A4 test page, rendered OFD pages): numbered objects, the
cross-reference table and the trailer. Object 1 must be the catalogue."""

from __future__ import annotations

from typing import Sequence

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def stream(entries: str, data: bytes) -> bytes:
    """A stream object: its dictionary's ``entries`` (without ``/Length``) and ``data``."""
    head = f"<< {entries} /Length {len(data)} >>".replace("<<  /", "<< /")
    return head.encode("ascii") + b"\nstream\n" + data + b"\nendstream"


def assemble(objects: Sequence[bytes]) -> bytearray:
    """A whole PDF of ``objects`` (object 1 the catalogue) in a fresh, wipeable buffer."""
    out = bytearray(HEADER)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return out
