"""Captured pages (JPEG) as one PDF for a page's ``doccam.capture``: one PDF page each, the
paper's size turned to the image's orientation, the image centred as large as fits — as
:func:`govkiosk.docscan.pdf.jpeg_page` lays out a single page. Written in memory, into a
buffer the session zeroes."""

from __future__ import annotations

from typing import List, Sequence, Tuple

from ..pdfbytes import assemble, stream

#: Points per millimetre (1 pt = 1/72 in).
PT_PER_MM = 72 / 25.4


def _number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


#: One page: the JPEG, its pixel size (width, height), grey, the paper (short, long) in mm.
Page = Tuple[bytes, Tuple[int, int], bool, Tuple[float, float]]


def pages_pdf(pages: Sequence[Page]) -> bytearray:
    """A PDF of ``pages`` in order. Object 1 the catalogue, 2 the page tree, then three
    objects a page: the page, its image, its content."""
    if not pages:
        raise ValueError("no pages")
    kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(len(pages)))
    objects: List[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode("ascii"),
    ]
    for index, (jpeg, (width, height), grey, (short, long_)) in enumerate(pages):
        if width <= 0 or height <= 0:
            raise ValueError("an image must have a size")
        page_mm = (short, long_) if height >= width else (long_, short)
        page_w, page_h = page_mm[0] * PT_PER_MM, page_mm[1] * PT_PER_MM
        fit = min(page_w / width, page_h / height)
        shown_w, shown_h = width * fit, height * fit
        left, bottom = (page_w - shown_w) / 2, (page_h - shown_h) / 2
        image, content = 4 + 3 * index, 5 + 3 * index
        paint = (
            f"q {_number(shown_w)} 0 0 {_number(shown_h)} {_number(left)} {_number(bottom)} cm"
            " /Im0 Do Q\n"
        ).encode("ascii")
        objects += [
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_number(page_w)}"
                f" {_number(page_h)}] /Resources << /XObject << /Im0 {image} 0 R >>"
                f" /ProcSet [/PDF /ImageB /ImageC] >> /Contents {content} 0 R >>"
            ).encode("ascii"),
            stream(
                f"/Type /XObject /Subtype /Image /Width {width} /Height {height}"
                f" /ColorSpace {'/DeviceGray' if grey else '/DeviceRGB'}"
                " /BitsPerComponent 8 /Filter /DCTDecode",
                jpeg,
            ),
            stream("", paint),
        ]
    return assemble(objects)
