"""JBIG2 pictures (invoices carry their QR code so) through poppler, which the kiosk
already runs to preview PDFs.

Neither OpenCV nor Pillow reads JBIG2. A JBIG2 file in sequential organisation is its
file header followed by the segments PDF's ``JBIG2Decode`` filter takes as an embedded
stream; so the header is dropped, the page size read from the page information segment,
the segments wrapped as a one-page PDF image at 72 dpi (one pixel a point) and drawn by
``pdftocairo`` (stdin to stdout, in ``/``, with a timeout; nothing written to disk).
Anything else (random-access organisation, striped pages of unknown height, no poppler)
is not decoded.
"""

from __future__ import annotations

import subprocess
from typing import Optional, Tuple

MAGIC = b"\x97JB2\r\n\x1a\n"
PAGE_INFORMATION = 48
TIMEOUT = 10.0
MAX_PIXELS = 40_000_000


def _page_size(data: bytes, offset: int) -> Optional[Tuple[int, int]]:
    """The first segment's page size when it is the page information segment."""
    if len(data) < offset + 11:
        return None
    number = int.from_bytes(data[offset : offset + 4], "big")
    flags = data[offset + 4]
    if flags & 0x3F != PAGE_INFORMATION:
        return None
    position = offset + 5
    count = data[position] >> 5
    if count == 7:  # the long form: never for a page information segment
        return None
    position += 1
    width_of_ref = 1 if number <= 256 else 2 if number <= 65536 else 4
    position += count * width_of_ref
    position += 4 if flags & 0x40 else 1  # page association
    position += 4  # data length
    if len(data) < position + 8:
        return None
    width = int.from_bytes(data[position : position + 4], "big")
    height = int.from_bytes(data[position + 4 : position + 8], "big")
    if not (width > 0 and 0 < height < 0xFFFFFFFF) or width * height > MAX_PIXELS:
        return None
    return width, height


def decode_png(data: bytes) -> Optional[bytes]:
    """The JBIG2 file ``data`` as PNG bytes (grey), or None when it cannot be decoded."""
    from .pdf import PdfImage, pdf_of_images  # noqa: PLC0415 - small, but only for JBIG2

    if not data.startswith(MAGIC) or len(data) < 13:
        return None
    flags = data[8]
    if not flags & 0x01:  # random-access organisation
        return None
    offset = 9 if flags & 0x02 else 13  # the page count is there unless unknown
    size = _page_size(data, offset)
    if size is None:
        return None
    width, height = size
    entries = (
        f"/Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 1"
        " /Filter /JBIG2Decode"
    )
    pdf = pdf_of_images([PdfImage(float(width), float(height), entries, data[offset:])])
    try:
        done = subprocess.run(
            ["pdftocairo", "-png", "-gray", "-singlefile", "-r", "72", "-", "-"],
            input=bytes(pdf),
            capture_output=True,
            timeout=TIMEOUT,
            cwd="/",
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        return None
    return done.stdout
