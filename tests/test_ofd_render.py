"""Rendering OFD pages: text lands where the document's own coordinates put it, in
embedded and in system fonts; paths, images, clips, annotations and seal pictures are
drawn at their boundaries; the print PDF has the page's size; hostile content raises
only OfdError."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import subprocess
from pathlib import Path
from typing import Optional, Tuple
from xml.sax.saxutils import escape, quoteattr

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.ofd.errors import OfdError, RenderError
from govkiosk.ofd.model import (
    Box,
    Content,
    Document,
    GraphicObject,
    Layer,
    TextObject,
    read_ofd,
)
from govkiosk.ofd.render import (
    PRINT_DPI,
    PageRenderer,
    StampPicture,
    flatten,
    render_page,
    render_pdf,
    render_png,
)
from harness.ofdfiles import DOCUMENTS, entry, fixture, rebuild, seal_picture

DPI = 300
PX_PER_MM = DPI / 25.4


def _only(document: Document, obj: GraphicObject) -> Document:
    """The document with its first page holding ``obj`` alone (no template, no annotation)."""
    alone = copy.copy(document)
    page = document.pages[0]
    content = Content(page.content.area, (Layer("1", "Body", (obj,)),), ())
    alone.pages = [dataclasses.replace(page, content=content)]
    alone.annotations = []
    return alone


def _object(document: Document, ident: str, template: Optional[str] = None) -> GraphicObject:
    layers = document.templates[template].layers if template else document.pages[0].content.layers
    return next(o for layer in layers for o in layer.objects if getattr(o, "id", None) == ident)


def _ink_mm(image: np.ndarray, threshold: int = 200) -> Optional[Tuple[float, float, float, float]]:
    """The inked pixels' box in millimetres: left, top, right, bottom."""
    ys, xs = np.nonzero(image.min(axis=2) < threshold)
    if len(xs) == 0:
        return None
    return (
        xs.min() / PX_PER_MM,
        ys.min() / PX_PER_MM,
        (xs.max() + 1) / PX_PER_MM,
        (ys.max() + 1) / PX_PER_MM,
    )


@pytest.mark.parametrize(
    ("name", "ident"),
    [
        ("helloworld", "4"),  # 宋体 named only: a system CJK font stands in
        ("keyword", "8"),  # digits in the embedded TrueType font
        ("keyword", "12"),  # bold title, mixed CJK and digits, "g" repeats
        ("keyword", "15"),
        ("signedFile", "62"),  # 楷体 named only, coloured
        ("signedFile", "67"),  # Courier New named only
        ("signedFile", "65"),
    ],
)
def test_text_ink_lies_where_the_ofd_places_it(name: str, ident: str) -> None:
    document = read_ofd(fixture(name))
    obj = _object(document, ident)
    assert isinstance(obj, TextObject)
    assert obj.ctm == (1, 0, 0, 1, 0, 0)
    ink = _ink_mm(render_page(_only(document, obj), 0, DPI).image)
    assert ink is not None
    left, top, right, bottom = ink
    glyphs = [g for code in obj.codes for g in code.positions()]
    first_x = obj.boundary.x + glyphs[0][1]
    last_x = obj.boundary.x + glyphs[-1][1]
    baseline = obj.boundary.y + glyphs[0][2]
    size = obj.size
    # the first glyph starts at its origin (less than a fifth of an em of side bearing)
    assert first_x - 0.05 <= left <= first_x + 0.2 * size
    # the last glyph starts at its origin and is at most an em wide
    assert last_x < right <= last_x + 1.05 * size
    # glyphs sit on the baseline: ink reaches it, descends less than a quarter em, rises
    # less than an em above it
    assert baseline - 0.12 * size <= bottom <= baseline + 0.25 * size
    assert baseline - 1.0 * size <= top < baseline - 0.4 * size
    # and everything is inside the object's boundary (half a millimetre of slack)
    box = obj.boundary
    assert box.x - 0.5 <= left
    assert right <= box.x + box.w + 0.5
    assert box.y - 0.5 <= top
    assert bottom <= box.y + box.h + 0.5


def test_text_colour_comes_from_fill_color() -> None:
    document = read_ofd(fixture("signedFile"))
    image = render_page(_only(document, _object(document, "62")), 0, DPI).image
    darkest = image[np.unravel_index(np.argmin(image.sum(axis=2)), image.shape[:2])]
    b, g, r = (int(v) for v in darkest)
    assert abs(r - 156) < 12
    assert abs(g - 82) < 12
    assert abs(b - 35) < 12


def test_rotated_translucent_watermark_runs_up_the_diagonal() -> None:
    document = read_ofd(fixture("keyword"))
    obj = _object(document, "22")  # CTM rotates by -45°, Alpha 80 grey
    image = render_page(_only(document, obj), 0, DPI).image
    ink = _ink_mm(image, threshold=250)
    assert ink is not None
    box = obj.boundary.normalised()
    left, top, right, bottom = ink
    assert box.x - 1 <= left
    assert right <= box.x + box.w + 1
    assert box.y - 1 <= top
    assert bottom <= box.y + box.h + 1
    assert right - left > 50
    assert bottom - top > 50
    # it starts bottom-left and climbs: ink near the bottom-left and top-right corners only
    ys, xs = np.nonzero(image.min(axis=2) < 250)
    xs_mm, ys_mm = xs / PX_PER_MM, ys / PX_PER_MM
    slope = np.polyfit(xs_mm, ys_mm, 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)
    assert image.min() > 150  # translucent grey: never black


def test_a_zero_area_clip_hides_its_text_and_a_full_clip_shows_it() -> None:
    document = read_ofd(fixture("keyword"))
    hidden = render_page(_only(document, _object(document, "20")), 0, 100).image
    assert hidden.min() == 255
    shown = render_page(_only(document, _object(document, "16")), 0, 100).image
    assert shown.min() < 100


def test_clip_cuts_text_at_its_edge() -> None:
    document = read_ofd(fixture("keyword"))
    obj = _object(document, "16")
    assert isinstance(obj, TextObject)
    area = obj.clips[0][0]
    narrow = dataclasses.replace(
        area,
        path=(
            ("M", (0.0, 0.0)),
            ("L", (10.0, 0.0)),
            ("L", (10.0, 9.0)),
            ("L", (0.0, 9.0)),
            ("C", ()),
        ),
    )
    clipped = dataclasses.replace(obj, clips=((narrow,),))
    ink = _ink_mm(render_page(_only(document, clipped), 0, DPI).image)
    assert ink is not None
    assert ink[2] <= obj.boundary.x + 10 + 0.2  # one anti-aliased pixel


def test_path_line_lies_on_its_coordinates_in_its_colour() -> None:
    document = read_ofd(fixture("signedFile"))
    line = _object(document, "8", template="2")  # M 0 0.2 L 201 0.2 at 4.5 29.8, 0.25 mm
    image = render_page(_only(document, line), 0, DPI).image
    ink = _ink_mm(image, threshold=250)
    assert ink is not None
    left, top, right, bottom = ink
    assert left == pytest.approx(4.5, abs=0.3)
    assert right == pytest.approx(205.5, abs=0.3)
    assert (top + bottom) / 2 == pytest.approx(30.0, abs=0.15)
    assert bottom - top < 0.6
    row = round(30.0 * PX_PER_MM)
    b, g, r = (int(v) for v in image[row, round(100 * PX_PER_MM)])
    assert abs(r - 156) < 25
    assert abs(g - 82) < 25
    assert abs(b - 35) < 25


def test_image_fills_its_boundary() -> None:
    document = read_ofd(fixture("containsJPEG"))
    image = render_page(document, 0, DPI).image
    ink = _ink_mm(image, threshold=250)
    assert ink is not None
    box = Box(31.743, 25.6484, 145.3829, 109.0266)
    assert ink == pytest.approx((box.x, box.y, box.x + box.w, box.y + box.h), abs=0.25)


def test_template_is_drawn_behind_the_page() -> None:
    document = read_ofd(fixture("keyword"))
    image = render_page(document, 0, 50).image
    # the background picture's pink frame at the corner, the text above it
    b, g, r = (int(v) for v in image[5, 5])
    assert r > g
    assert r > b
    assert r < 250
    assert image.min() < 60


def test_seal_picture_is_drawn_at_the_stamp_boundary() -> None:
    document = read_ofd(fixture("SESV4SignDoc"))
    (stamp,) = document.signatures[0].stamp_annots
    picture = seal_picture()
    plain = render_page(document, 0, DPI).image
    sealed = render_page(
        document, 0, DPI, [StampPicture(stamp.page_ref, stamp.boundary, picture)]
    ).image
    b, g, r = (sealed[..., i].astype(int) for i in range(3))
    red = (r > 180) & (g < 120) & (b < 120)
    ys, xs = np.nonzero(red)
    left, top = xs.min() / PX_PER_MM, ys.min() / PX_PER_MM
    right, bottom = (xs.max() + 1) / PX_PER_MM, (ys.max() + 1) / PX_PER_MM
    box = stamp.boundary
    assert box.x - 0.2 <= left
    assert right <= box.x + box.w + 0.2
    assert box.y - 0.2 <= top
    assert bottom <= box.y + box.h + 0.2
    assert right - left > 0.8 * box.w
    assert bottom - top > 0.8 * box.h
    assert not ((plain[..., 2] > 180) & (plain[..., 1] < 120)).any()
    # a stamp for another page is not drawn here
    other = render_page(document, 0, 50, [StampPicture("99", stamp.boundary, picture)]).image
    assert np.array_equal(other, render_page(document, 0, 50).image)


def test_a_seal_is_ink_the_print_under_it_stays_legible_and_its_paper_clear() -> None:
    # A seal picture as makers issue it: an opaque red disc on white paper, laid over text.
    document = read_ofd(fixture("helloworld"))
    plain = render_page(document, 0, DPI).image
    dark = (plain < 100).all(axis=2)
    ys, xs = np.nonzero(dark)
    box = Box(xs.min() / PX_PER_MM - 2, ys.min() / PX_PER_MM - 6, 30, 30)
    disc = np.full((300, 300, 3), 255, np.uint8)
    cv2.circle(disc, (150, 150), 140, (40, 40, 220), 12)  # the seal's ring, BGR red
    cv2.circle(disc, (150, 150), 60, (40, 40, 220), -1)
    picture = cv2.imencode(".png", disc)[1].tobytes()
    page_id = document.pages[0].id
    sealed = render_page(document, 0, DPI, [StampPicture(page_id, box, picture)]).image
    # the text is still dark where the seal lies on it (ink darkens; it does not cover)
    assert (sealed[dark] < 100).all()
    # the seal's white paper leaves the page as it was; its ink is red
    changed = (sealed != plain).any(axis=2)
    assert changed.sum() < 0.6 * (box.w * box.h * PX_PER_MM**2)
    b, g, r = (sealed[..., i].astype(int) for i in range(3))
    assert ((r > 180) & (g < 80) & (b < 80)).sum() > 1000


def test_annotation_appearance_is_drawn_relative_to_its_boundary() -> None:
    data = fixture("signedFile")
    name = "Doc_0/Annots/Page_0/Annotation.xml"
    annotation = entry(data, name).replace(
        b'<ofd:Appearance Boundary="4.5 104 115 20"/>',
        b'<ofd:Appearance Boundary="4.5 104 115 20"><ofd:PathObject ID="200" Boundary="10 5 20 10"'
        b' Fill="true" Stroke="false"><ofd:FillColor Value="0 0 255"/>'
        b"<ofd:AbbreviatedData>M 0 0 L 20 0 L 20 10 L 0 10 C</ofd:AbbreviatedData>"
        b"</ofd:PathObject></ofd:Appearance>",
    )
    document = read_ofd(rebuild(data, replace={name: annotation}))
    image = render_page(document, 0, DPI).image
    blue = (image[..., 0] > 200) & (image[..., 1] < 60) & (image[..., 2] < 60)
    ys, xs = np.nonzero(blue)
    assert xs.min() / PX_PER_MM == pytest.approx(14.5, abs=0.2)
    assert ys.min() / PX_PER_MM == pytest.approx(109.0, abs=0.2)
    assert (xs.max() + 1) / PX_PER_MM == pytest.approx(34.5, abs=0.2)
    assert (ys.max() + 1) / PX_PER_MM == pytest.approx(119.0, abs=0.2)


def test_the_invoices_jbig2_qr_code_is_drawn_and_scans() -> None:
    rendered = render_page(read_ofd(fixture("signedFile")), 0, DPI)
    assert rendered.skipped == []
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(rendered.image[:400, :800])
    # invoice code and number, as the page prints them
    assert "032001600511,31471858" in text


def test_jbig2_without_poppler_is_reported_not_drawn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    rendered = render_page(read_ofd(fixture("signedFile")), 0, 50)
    assert rendered.skipped == ["image 80: GBIG2 cannot be decoded"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_fixture_page_renders_with_ink(name: str) -> None:
    document = read_ofd(fixture(name))
    renderer = PageRenderer(document)
    for index, page in enumerate(document.pages):
        rendered = renderer.render(index, 50)
        box = document.page_box(page)
        assert rendered.image.shape[:2] == (round(box.h * 50 / 25.4), round(box.w * 50 / 25.4))
        assert rendered.image.min() < 128


def test_png_and_print_pdf() -> None:
    document = read_ofd(fixture("helloworld"))
    png = render_png(document, 0, 72)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pdf = render_pdf(document, dpi=PRINT_DPI)
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    info = subprocess.run(
        ["pdfinfo", "-"], input=bytes(pdf), capture_output=True, check=True, timeout=30
    )
    text = info.stdout.decode()
    assert re.search(r"^Pages:\s+1$", text, re.MULTILINE)
    assert re.search(r"^Page size:\s+595\.2\d* x 841\.89 pts \(A4\)$", text, re.MULTILINE)
    images = subprocess.run(
        ["pdfimages", "-list", "-"], input=bytes(pdf), capture_output=True, timeout=30, check=False
    )
    if images.returncode == 0:  # poppler reads a PDF from stdin only in newer releases
        assert "2480  3508" in images.stdout.decode()


def test_bad_page_and_resolution_are_refused() -> None:
    document = read_ofd(fixture("helloworld"))
    with pytest.raises(RenderError, match="no page 2"):
        render_page(document, 1)
    with pytest.raises(RenderError, match="dpi"):
        render_page(document, 0, 5000)


def test_arcs_and_curves_flatten_onto_their_shape() -> None:
    ((points, closed),) = flatten((("M", (0.0, 0.0)), ("A", (5.0, 5.0, 0.0, 0.0, 1.0, 10.0, 0.0))))
    assert not closed
    assert np.allclose(np.hypot(points[:, 0] - 5, points[:, 1]), 5.0)
    assert points[:, 1].min() == pytest.approx(-5.0, abs=0.05) or points[
        :, 1
    ].max() == pytest.approx(5.0, abs=0.05)
    ((curve, closed),) = flatten(
        (("M", (0.0, 0.0)), ("B", (0.0, 10.0, 10.0, 10.0, 10.0, 0.0)), ("C", ()))
    )
    assert closed
    assert curve[:, 1].max() == pytest.approx(7.5, abs=0.1)


_NUMBER = st.one_of(st.floats(-300, 300), st.floats(-1e6, 1e6)).map(lambda v: f"{v:.3f}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ctm=st.lists(_NUMBER, min_size=6, max_size=6).map(" ".join),
    size=st.floats(0, 200, allow_nan=False),
    text=st.text(max_size=12),
    deltas=st.lists(_NUMBER, max_size=14).map(" ".join),
    path=st.lists(
        st.sampled_from(
            ["M 1 1", "L 50 80", "Q 3 4 9 9", "B 1 2 3 4 5 6", "A 3 9 45 1 0 20 20", "C", "S 0 0"]
        ),
        max_size=10,
    ).map(" ".join),
)
def test_fuzz_hostile_content_renders_or_raises_ofd_error(
    ctm: str, size: float, text: str, deltas: str, path: str
) -> None:
    data = fixture("helloworld")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="2">'
        f'<ofd:TextObject ID="4" Boundary="10 10 50 50" CTM="{ctm}" Font="3" Size="{size:.3f}">'
        f'<ofd:TextCode X="0" Y="3" DeltaX={quoteattr(deltas)}>{escape(text)}</ofd:TextCode></ofd:TextObject>'
        f'<ofd:PathObject ID="5" Boundary="0 0 10 10" CTM="{ctm}" Fill="true"><ofd:AbbreviatedData>{path}</ofd:AbbreviatedData></ofd:PathObject>'
        "</ofd:Layer></ofd:Content></ofd:Page>"
    ).encode()
    try:
        document = read_ofd(rebuild(data, replace={"Doc_0/Pages/Page_0/Content.xml": content}))
        image = render_page(document, 0, 20).image
    except OfdError:
        return
    assert image.shape == (234, 165, 3)
    assert math.isfinite(float(image.mean()))


def test_paths_too_complex_or_far_away_are_bounded() -> None:
    data = fixture("helloworld")
    page = "Doc_0/Pages/Page_0/Content.xml"

    def content(path: str) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016">'
            '<ofd:Content><ofd:Layer ID="2"><ofd:PathObject ID="5" Boundary="0 0 10 10" Fill="true">'
            f"<ofd:AbbreviatedData>{path}</ofd:AbbreviatedData></ofd:PathObject>"
            "</ofd:Layer></ofd:Content></ofd:Page>"
        ).encode()

    arcs = "M 0 0 " + " ".join(
        f"A {i % 7 + 1} 5 {i % 90} 1 1 {i % 97} {i % 89}" for i in range(9000)
    )
    document = read_ofd(rebuild(data, replace={page: content(arcs)}))
    with pytest.raises(RenderError, match="too many points"):
        render_page(document, 0, 20)
    far = "M -9000000 -9000000 L 9000000 -9000000 L 9000000 9000000 L -9000000 9000000 C"
    image = render_page(read_ofd(rebuild(data, replace={page: content(far)})), 0, 20).image
    assert image.max() == 0  # the triangle covers the page: black


def test_a_seal_picture_given_as_an_ofd_is_rendered_into_the_stamp() -> None:
    # GB/T 38540 lets a seal's picture be an OFD document: its first page is drawn
    document = read_ofd(fixture("SESV4SignDoc"))
    box = Box(50, 50, 40, 40)
    plain = render_page(document, 0, DPI).image
    sealed = render_page(document, 0, DPI, [StampPicture("1", box, fixture("helloworld"))]).image
    ys, xs = np.nonzero((plain != sealed).any(axis=2))
    assert len(xs) > 20
    assert xs.min() / PX_PER_MM >= box.x - 0.2
    assert (xs.max() + 1) / PX_PER_MM <= box.x + box.w + 0.2
    assert ys.min() / PX_PER_MM >= box.y - 0.2
    assert (ys.max() + 1) / PX_PER_MM <= box.y + box.h + 0.2
    broken = render_page(document, 0, 50, [StampPicture("1", box, b"not a picture")])
    assert broken.skipped == ["seal picture: cannot be decoded"]


def test_characters_past_the_last_offset_advance_by_their_width() -> None:
    data = fixture("helloworld")
    page = "Doc_0/Pages/Page_0/Content.xml"
    content = entry(data, page).replace(
        b' DeltaX="3 3 3 3 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5 1.5"',
        b' DeltaX="3"',
    )
    document = read_ofd(rebuild(data, replace={page: content}))
    ink = _ink_mm(render_page(document, 0, DPI).image)
    assert ink is not None
    left, _, right, _ = ink
    # 你 then 好呀， at their font's 3 mm advance, and the Latin text after them
    assert right - left > 4 * 3 + 10
    assert right - left < 40.5 + 3


def test_a_column_of_text_given_by_delta_y_keeps_its_x() -> None:
    document = read_ofd(fixture("signedFile"))
    column = next(
        o
        for o in document.templates["2"].layers[0].objects
        if isinstance(o, TextObject) and o.codes[0].text == "购买方"
    )
    assert isinstance(column, TextObject)
    assert column.codes[0].delta_x == ()
    ink = _ink_mm(render_page(_only(document, column), 0, DPI).image)
    assert ink is not None
    left, top, right, bottom = ink
    assert right - left < column.size * 1.05  # one glyph wide
    assert bottom - top > 2 * 6.35  # three glyphs 6.35 mm apart downwards
