"""Writing a certificate as OFD (GB/T 33190-2016) and sealing it (demo service only).

:func:`write` lays a :class:`~.certificate.Certificate` out on A4 pages the way
:mod:`.certificate` does for PDF — title, number, body, titled groups of facts each on a
page of its own, the authority and date, the notes, a verification line at every foot —
as an OFD package's files: ``OFD.xml``, ``Doc_0/Document.xml``, ``Doc_0/PublicRes.xml``
(one system font, 宋体, which readers map to an installed Chinese font) and one
``Content.xml`` per page of text and path objects, in millimetres from the top left; a
test answer's specimen mark (测试样张) goes across every page.

:func:`seal` adds one electronic seal the way GB/T 38540 and ofdrw do:
``Doc_0/Signs/Signatures.xml`` lists ``Sign_0/Signature.xml``, whose ``SignedInfo``
protects every file then in the package by its SM3 digest and places the seal's picture
on a page as a ``StampAnnot``; ``Seal.esl`` is the ``SES_Seal``; ``SignedValue.dat`` is the
``SES_Signature`` over ``Signature.xml`` (made by the caller, :mod:`.demo_sm2`).
:func:`package` zips the files. :func:`seal_picture` draws the round red seal as PNG.
"""

from __future__ import annotations

import base64
import datetime
import io
import math
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from ..gm.sm3 import sm3
from .certificate import Certificate, cjk_font_file

NS = "http://www.ofdspec.org/2016"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT = 22.0, 188.0
BOTTOM = 270.0  #: content stops here; the foot line is below
FONT_ID = 3
SIGNATURES = "Doc_0/Signs/Signatures.xml"
SIGN_DIR = "Doc_0/Signs/Sign_0"
#: GM/T 0006 OIDs as the Signature.xml names them.
SM2_WITH_SM3 = "1.2.156.10197.1.501"
GREY = "128 128 128"
RED = "153 25 25"


def _width(text: str, size: float) -> float:
    """Advance of ``text`` at ``size`` mm: full width for Chinese, half for ASCII."""
    return sum(size * (0.5 if ord(c) < 0x2E80 else 1.0) for c in text)


def _wrap(text: str, size: float, width: float, indent: float = 0.0) -> List[str]:
    lines: List[str] = []
    line, used = "", indent
    for char in text:
        advance = _width(char, size)
        if line and used + advance > width:
            lines.append(line)
            line, used = "", 0.0
        line += char
        used += advance
    if line or not lines:
        lines.append(line)
    return lines


@dataclass
class _Page:
    objects: List[str] = field(default_factory=list)


class _Writer:
    """Places text and lines on pages, starting a new page when one is full."""

    def __init__(self) -> None:
        self.pages: List[_Page] = [_Page()]
        self.y = 32.0
        self._next_id = 10

    def id(self) -> int:
        self._next_id += 1
        return self._next_id

    def room(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.new_page()

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = 32.0

    def text(
        self, x: float, baseline: float, text: str, size: float, colour: Optional[str] = None
    ) -> None:
        if not text:
            return
        top = baseline - size
        advances = [_width(c, size) for c in text]
        delta = " ".join(f"{a:g}" for a in advances[:-1])
        fill = f'<ofd:FillColor Value="{colour}"/>' if colour else ""
        self.pages[-1].objects.append(
            f'<ofd:TextObject ID="{self.id()}" Boundary="{x:.2f} {top:.2f} '
            f'{sum(advances):.2f} {size * 1.2:.2f}" Font="{FONT_ID}" Size="{size:g}">{fill}'
            f'<ofd:TextCode X="0" Y="{size:g}"'
            + (f' DeltaX="{delta}"' if delta else "")
            + f">{escape(text)}</ofd:TextCode></ofd:TextObject>"
        )

    def watermark(self, text: str, size: float = 25.0) -> None:
        """``text`` large and diagonal across the page, light red (a test specimen)."""
        width = _width(text, size)
        angle = math.radians(-35.0)  # y grows downwards: negative turns it up to the right
        cos, sin = math.cos(angle), math.sin(angle)
        # Rotated about the text's own centre, which sits at the page's centre.
        cx, cy = width / 2, size / 2
        dx, dy = cx - (cos * cx - sin * cy), cy - (sin * cx + cos * cy)
        left, top = PAGE_W / 2 - cx, PAGE_H / 2 - cy
        advances = " ".join(f"{_width(c, size):g}" for c in text[:-1])
        self.pages[-1].objects.append(
            f'<ofd:TextObject ID="{self.id()}" Boundary="{left:.2f} {top:.2f} {width:.2f} '
            f'{size * 1.2:.2f}" Font="{FONT_ID}" Size="{size:g}" '
            f'CTM="{cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} {dx:.3f} {dy:.3f}">'
            '<ofd:FillColor Value="230 51 51" Alpha="64"/>'
            f'<ofd:TextCode X="0" Y="{size:g}" DeltaX="{advances}">{escape(text)}</ofd:TextCode>'
            "</ofd:TextObject>"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.25) -> None:
        left, top = min(x1, x2), min(y1, y2)
        self.pages[-1].objects.append(
            f'<ofd:PathObject ID="{self.id()}" Boundary="{left:.2f} {top:.2f} '
            f'{max(abs(x2 - x1), 0.01):.2f} {max(abs(y2 - y1), 0.01):.2f}" '
            f'LineWidth="{width:g}"><ofd:StrokeColor Value="0 0 0"/>'
            f"<ofd:AbbreviatedData>M {x1 - left:.2f} {y1 - top:.2f} "
            f"L {x2 - left:.2f} {y2 - top:.2f}</ofd:AbbreviatedData></ofd:PathObject>"
        )

    def centred(self, text: str, size: float, colour: Optional[str] = None) -> None:
        self.room(size * 1.6)
        self.y += size * 1.3
        self.text((PAGE_W - _width(text, size)) / 2, self.y, text, size, colour)
        self.y += size * 0.5

    def paragraph(self, text: str, size: float = 4.6, leading: float = 8.2) -> None:
        for i, line in enumerate(_wrap(text, size, RIGHT - LEFT, indent=2 * size)):
            self.room(leading)
            self.y += leading
            self.text(LEFT + (2 * size if i == 0 else 0.0), self.y - 2.0, line, size)
        self.y += 1.5

    def grid(self, rows: Sequence[Sequence[str]], widths: Sequence[float], size: float) -> None:
        """A ruled table; each row as high as its longest cell."""
        line_h = size * 1.35
        for row in rows:
            cells = [_wrap(cell, size, w - 3.0) for cell, w in zip(row, widths)]
            height = max(len(c) for c in cells) * line_h + 2.6
            if self.y + height > BOTTOM:
                self.new_page()
            top, x = self.y, LEFT
            self.line(LEFT, top, LEFT + sum(widths), top)
            for lines, w in zip(cells, widths):
                for n, text in enumerate(lines):
                    self.text(x + 1.5, top + 1.3 + (n + 1) * line_h - size * 0.25, text, size)
                self.line(x, top, x, top + height)
                x += w
            self.line(x, top, x, top + height)
            self.y = top + height
            self.line(LEFT, self.y, LEFT + sum(widths), self.y)
        self.y += 4.0


@dataclass(frozen=True)
class Laid:
    """The unsigned package's files, and where the seal goes: page index and box (mm)."""

    files: Dict[str, bytes]
    pages: int
    stamp_page: int
    stamp_box: Tuple[float, float, float, float]


def write(cert: Certificate, *, doc_id: str, created: datetime.date) -> Laid:
    """``cert`` as the files of an unsigned OFD package."""
    w = _Writer()
    w.centred(cert.title, 8.0)
    w.y += 2.0
    number = f"编号：{cert.number}"
    w.text(RIGHT - _width(number, 3.7), w.y + 4.0, number, 3.7)
    w.y += 9.0
    for text in cert.paragraphs:
        w.paragraph(text)
    if cert.rows:
        w.grid(cert.rows, (38.0, RIGHT - LEFT - 38.0), 3.9)
    for n, (heading, rows) in enumerate(cert.sections):
        if n > 0 or cert.rows:
            w.new_page()
        w.centred(heading, 5.6)
        w.y += 3.0
        w.grid(rows, (42.0, RIGHT - LEFT - 42.0), 3.9)
    if cert.table:
        columns = len(cert.table[0])
        w.grid(cert.table, [(RIGHT - LEFT) / columns] * columns, 3.4)
    for text in cert.closing:
        w.paragraph(text)
    w.room(48.0)
    right = RIGHT - 8.0
    authority_y, date_y = w.y + 22.0, w.y + 30.0
    w.text(right - _width(cert.authority, 4.6), authority_y, cert.authority, 4.6)
    w.text(right - _width(cert.issued, 4.6), date_y, cert.issued, 4.6)
    centre_x = right - _width(cert.authority, 4.6) / 2
    stamp = (centre_x - 20.0, authority_y - 22.0, 40.0, 40.0)
    stamp_page = len(w.pages) - 1
    w.y += 46.0
    for text in cert.notes:
        for line in _wrap(text, 3.2, RIGHT - LEFT):
            w.room(5.0)
            w.y += 5.0
            w.text(LEFT, w.y, line, 3.2, GREY)
    every = list(w.pages)
    pages = len(every)
    for n, page in enumerate(every, 1):
        w.pages = [page]  # the foot goes on this page
        if cert.specimen:
            w.watermark(cert.specimen)
        w.line(LEFT - 2, 25.0, RIGHT + 2, 25.0, 0.4)
        w.text(LEFT - 2, 285.0, cert.verification, 2.8, GREY)
        label = f"第 {n} 页 共 {pages} 页"
        w.text(RIGHT + 2 - _width(label, 2.8), 285.0, label, 2.8, GREY)
    files: Dict[str, bytes] = {
        "OFD.xml": _ofd_xml(cert, doc_id, created, signed=False),
        "Doc_0/Document.xml": _document_xml(pages, w.id()),
        "Doc_0/PublicRes.xml": (
            f'{HEADER}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
            f'<ofd:Font ID="{FONT_ID}" FontName="宋体" FamilyName="宋体"/>'
            "</ofd:Fonts></ofd:Res>"
        ).encode(),
    }
    for n, page in enumerate(every):
        files[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'{HEADER}<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="{2 + n}">'
            + "".join(page.objects)
            + "</ofd:Layer></ofd:Content></ofd:Page>"
        ).encode("utf-8")
    return Laid(files, pages, stamp_page, stamp)


def _ofd_xml(cert: Certificate, doc_id: str, created: datetime.date, *, signed: bool) -> bytes:
    signatures = f"<ofd:Signatures>/{SIGNATURES}</ofd:Signatures>" if signed else ""
    return (
        f'{HEADER}<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD"><ofd:DocBody>'
        f"<ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID><ofd:Title>{escape(cert.title)}</ofd:Title>"
        f"<ofd:Author>{escape(cert.authority)}</ofd:Author>"
        f"<ofd:CreationDate>{created:%Y-%m-%d}</ofd:CreationDate>"
        "<ofd:Creator>govkiosk demo department service</ofd:Creator></ofd:DocInfo>"
        f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{signatures}</ofd:DocBody></ofd:OFD>"
    ).encode()


def _document_xml(pages: int, max_id: int) -> bytes:
    listed = "".join(
        f'<ofd:Page ID="{max_id + 1 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>'
        for n in range(pages)
    )
    return (
        f'{HEADER}<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{max_id + pages + 1}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {PAGE_W:g} {PAGE_H:g}</ofd:PhysicalBox>"
        "</ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
        f"<ofd:Pages>{listed}</ofd:Pages></ofd:Document>"
    ).encode()


#: (``Signature.xml`` bytes, its path in the package) → the ``SES_Signature`` DER.
Signer = Callable[[bytes, str], bytes]


def seal(
    laid: Laid,
    cert: Certificate,
    *,
    doc_id: str,
    created: datetime.date,
    seal_der: bytes,
    signer: Signer,
    when: Optional[datetime.datetime] = None,
) -> Dict[str, bytes]:
    """The package's files with one electronic seal on ``laid.stamp_page``."""
    files = dict(laid.files)
    files["OFD.xml"] = _ofd_xml(cert, doc_id, created, signed=True)
    files[f"{SIGN_DIR}/Seal.esl"] = seal_der
    page_id = _page_ids(files["Doc_0/Document.xml"])[laid.stamp_page]
    references = "".join(
        f'<ofd:Reference FileRef="/{name}"><ofd:CheckValue>'
        f"{base64.b64encode(sm3(data)).decode('ascii')}</ofd:CheckValue></ofd:Reference>"
        for name, data in files.items()
    )
    moment = (when or datetime.datetime.now(datetime.timezone.utc)).astimezone()
    box = " ".join(f"{v:.2f}" for v in laid.stamp_box)
    signature_xml = (
        f'{HEADER}<ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo>'
        '<ofd:Provider ProviderName="govkiosk-demo" Company="govkiosk" Version="1.0"/>'
        f"<ofd:SignatureMethod>{SM2_WITH_SM3}</ofd:SignatureMethod>"
        f"<ofd:SignatureDateTime>{moment:%Y-%m-%d %H:%M:%S}</ofd:SignatureDateTime>"
        f'<ofd:References CheckMethod="SM3">{references}</ofd:References>'
        f'<ofd:StampAnnot ID="1" PageRef="{page_id}" Boundary="{box}"/>'
        f"<ofd:Seal><ofd:BaseLoc>/{SIGN_DIR}/Seal.esl</ofd:BaseLoc></ofd:Seal>"
        "</ofd:SignedInfo>"
        f"<ofd:SignedValue>/{SIGN_DIR}/SignedValue.dat</ofd:SignedValue></ofd:Signature>"
    ).encode()
    files[f"{SIGN_DIR}/Signature.xml"] = signature_xml
    files[f"{SIGN_DIR}/SignedValue.dat"] = signer(signature_xml, f"/{SIGN_DIR}/Signature.xml")
    files[SIGNATURES] = (
        f'{HEADER}<ofd:Signatures xmlns:ofd="{NS}"><ofd:MaxSignId>1</ofd:MaxSignId>'
        f'<ofd:Signature ID="1" Type="Seal" BaseLoc="/{SIGN_DIR}/Signature.xml"/>'
        "</ofd:Signatures>"
    ).encode()
    return files


def _page_ids(document_xml: bytes) -> List[str]:
    text = document_xml.decode("utf-8")
    return [part.split('"', 2)[1] for part in text.split("<ofd:Page ID=")[1:]]


def package(files: Dict[str, bytes]) -> bytes:
    """The files as an OFD package (a ZIP, ``OFD.xml`` first)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files, key=lambda n: (n != "OFD.xml", n)):
            archive.writestr(name, files[name])
    return out.getvalue()


def seal_picture(name: str, caption: str, pixels: int = 400) -> bytes:
    """A red round official seal as a transparent PNG: ring, star, name on the upper arc,
    the caption below the star."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 - the demo only

    red = (214, 16, 23, 235)
    image = Image.new("RGBA", (pixels, pixels), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre, radius = pixels / 2, pixels * 0.47
    ring = pixels * 0.035
    draw.ellipse(
        (centre - radius, centre - radius, centre + radius, centre + radius),
        outline=red,
        width=max(1, round(ring)),
    )
    outer, inner = radius * 0.3, radius * 0.3 * 0.382
    star = [
        (
            centre + (outer if i % 2 == 0 else inner) * math.cos(math.radians(-90 + 36 * i)),
            centre + (outer if i % 2 == 0 else inner) * math.sin(math.radians(-90 + 36 * i)),
        )
        for i in range(10)
    ]
    draw.polygon(star, fill=red)
    font_file = cjk_font_file()
    size = int(min(radius * 0.27, radius * 4.0 / max(len(name), 1)))
    font = ImageFont.truetype(font_file, size)
    span = min(260.0, 24.0 * len(name))
    for i, char in enumerate(name):
        angle = 90 + span / 2 - (span * i / (len(name) - 1) if len(name) > 1 else span / 2)
        glyph = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((size, size), char, font=font, fill=red, anchor="mm")
        turned = glyph.rotate(angle - 90, resample=Image.Resampling.BICUBIC)
        x = centre + radius * 0.72 * math.cos(math.radians(angle))
        y = centre - radius * 0.72 * math.sin(math.radians(angle))
        image.alpha_composite(turned, (round(x - size), round(y - size)))
    small = ImageFont.truetype(font_file, int(radius * 0.17))
    draw.text((centre, centre + radius * 0.55), caption, font=small, fill=red, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


#: The ways :func:`tamper` changes a sealed package, each a failure a verifier must name.
TAMPERS = ("content", "added", "removed", "signed_value", "seal_swapped", "signature_xml")


def tamper(files: Dict[str, bytes], how: str, *, other_seal: bytes = b"") -> Dict[str, bytes]:
    """A sealed package's files changed after sealing, ``how``:

    ``content`` a page's text changed; ``added`` a file added under the document;
    ``removed`` a protected file removed (the seal file); ``signed_value`` one bit
    of the signature value flipped; ``seal_swapped`` ``Seal.esl`` replaced by
    ``other_seal``; ``signature_xml`` the signed ``Signature.xml`` edited (a reference's
    digest replaced by that of changed content).
    """
    changed = dict(files)
    if how == "content":
        page = changed["Doc_0/Pages/Page_0/Content.xml"]
        changed["Doc_0/Pages/Page_0/Content.xml"] = page.replace(
            "编号".encode(), "编码".encode(), 1
        )
    elif how == "added":
        changed["Doc_0/Pages/Page_0/Res/extra.xml"] = b"<x/>"
    elif how == "removed":
        del changed[f"{SIGN_DIR}/Seal.esl"]
    elif how == "signed_value":
        value = bytearray(changed[f"{SIGN_DIR}/SignedValue.dat"])
        value[-5] ^= 0x01
        changed[f"{SIGN_DIR}/SignedValue.dat"] = bytes(value)
    elif how == "seal_swapped":
        changed[f"{SIGN_DIR}/Seal.esl"] = other_seal
    elif how == "signature_xml":
        page = changed["Doc_0/Pages/Page_0/Content.xml"].replace(
            "编号".encode(), "编码".encode(), 1
        )
        changed["Doc_0/Pages/Page_0/Content.xml"] = page
        old = base64.b64encode(sm3(files["Doc_0/Pages/Page_0/Content.xml"]))
        new = base64.b64encode(sm3(page))
        xml = changed[f"{SIGN_DIR}/Signature.xml"]
        changed[f"{SIGN_DIR}/Signature.xml"] = xml.replace(old, new)
    else:
        raise ValueError(f"unknown tamper {how!r}: one of {', '.join(TAMPERS)}")
    return changed
