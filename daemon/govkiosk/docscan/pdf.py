"""A one-page PDF around a JPEG, written by hand (PDF 1.4, ISO 32000-1 §7–8).

Five objects — catalogue, page tree, page, the image XObject (the JPEG as it is, under
``/DCTDecode``) and the page's content stream, which paints the image centred on the
page, as large as the page allows — then the cross-reference table. Nothing is
re-encoded, nothing touches the disk.
"""

from __future__ import annotations

from typing import List, Tuple

from ..pdfbytes import assemble, stream

#: Points per millimetre (1 pt = 1/72 in).
PT_PER_MM = 72 / 25.4


def _number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def jpeg_page(
    jpeg: bytes, size: Tuple[int, int], *, grey: bool, page_mm: Tuple[float, float]
) -> bytes:
    """A PDF of one page ``page_mm`` (width, height) showing ``jpeg``, whose pixel
    ``size`` (width, height) and colour (``grey`` or RGB) the caller knows."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ValueError("the image must have a size")
    page_w, page_h = page_mm[0] * PT_PER_MM, page_mm[1] * PT_PER_MM
    fit = min(page_w / width, page_h / height)
    shown_w, shown_h = width * fit, height * fit
    left, bottom = (page_w - shown_w) / 2, (page_h - shown_h) / 2
    content = (
        f"q {_number(shown_w)} 0 0 {_number(shown_h)} {_number(left)} {_number(bottom)} cm"
        " /Im0 Do Q\n"
    ).encode("ascii")
    space = "/DeviceGray" if grey else "/DeviceRGB"
    objects: List[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_number(page_w)} {_number(page_h)}]"
            " /Resources << /XObject << /Im0 4 0 R >> /ProcSet [/PDF /ImageB /ImageC] >>"
            " /Contents 5 0 R >>"
        ).encode("ascii"),
        stream(
            f"/Type /XObject /Subtype /Image /Width {width} /Height {height}"
            f" /ColorSpace {space} /BitsPerComponent 8 /Filter /DCTDecode",
            jpeg,
        ),
        stream("", content),
    ]
    return bytes(assemble(objects))
