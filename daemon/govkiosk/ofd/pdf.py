"""The smallest PDF that holds pictures: one image per page, filling it.

The A4 printer's path sends PDF, so rendered OFD pages go to CUPS this way; the JBIG2
decoder uses the same form to hand a JBIG2 picture to poppler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

from ..pdfbytes import assemble


@dataclass(frozen=True)
class PdfImage:
    """A page ``width`` × ``height`` points filled by an image XObject whose dictionary
    holds ``entries`` (``/Width … /Filter …``, without ``/Length``) and whose stream is
    ``data``."""

    width: float
    height: float
    entries: str
    data: bytes


def pdf_of_images(pages: Sequence[PdfImage]) -> bytearray:
    objects: List[bytes] = []
    kids = []
    for number, page in enumerate(pages):
        page_id = 3 + number * 3
        image_id, content_id = page_id + 1, page_id + 2
        kids.append(f"{page_id} 0 R")
        content = f"q {page.width:.4f} 0 0 {page.height:.4f} 0 0 cm /Im0 Do Q".encode()
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page.width:.4f} {page.height:.4f}]"
                f" /Resources << /XObject << /Im0 {image_id} 0 R >> >>"
                f" /Contents {content_id} 0 R >>"
            ).encode()
        )
        objects.append(
            (
                f"<< /Type /XObject /Subtype /Image {page.entries}"
                f" /Length {len(page.data)} >>\nstream\n"
            ).encode()
            + page.data
            + b"\nendstream"
        )
        objects.append(
            f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
        )
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode(),
    ]
    return assemble(head + objects)
