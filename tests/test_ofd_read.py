"""Reading OFD packages: the fixtures made by another implementation, the zip's bounds,
XML refusing declarations, and fuzzing (only OfdError may come out)."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.errors import GovkioskError
from govkiosk.ofd import xmlsafe
from govkiosk.ofd.errors import OfdError, OfdFormatError, OfdPackageError
from govkiosk.ofd.model import Box, ImageObject, PathObject, TextObject, parse_path, read_ofd
from govkiosk.ofd.package import Limits, OfdPackage, resolve
from harness.ofdfiles import DOCUMENTS, entry, fixture, rebuild


def _zip(entries: dict, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_helloworld_reads_page_text_and_font() -> None:
    document = read_ofd(fixture("helloworld"))
    assert document.path == "Doc_0/Document.xml"
    assert document.physical_box == Box(0, 0, 210, 297)
    assert document.max_unit_id == 4
    assert [p.path for p in document.pages] == ["Doc_0/Pages/Page_0/Content.xml"]
    (text,) = document.pages[0].content.layers[0].objects
    assert isinstance(text, TextObject)
    assert text.boundary == Box(31.7, 25.4, 40.5, 5)
    assert text.font == "3"
    assert text.size == 3.0
    code = text.codes[0]
    assert code.text == "你好呀，OFD Reader&Writer！"
    positions = code.positions()
    assert positions[0] == ("你", 0.0, 3.0)
    assert positions[4][1] == pytest.approx(12.0)  # four 3 mm advances
    assert document.fonts["3"].name == "宋体"
    assert document.fonts["3"].file is None
    assert document.signatures == []


def test_keyword_reads_embedded_font_template_clips_and_rotated_text() -> None:
    document = read_ofd(fixture("keyword"))
    assert document.fonts["7"].file == "Doc_0/Res/Font7.ttf"
    assert document.media["5"].file == "Doc_0/Res/image_1_5.png"
    page = document.pages[0]
    assert page.content.templates == (("2", "Background"),)
    (image,) = document.templates["2"].layers[0].objects
    assert isinstance(image, ImageObject)
    assert image.ctm == (283, 0, 0, 196, 0, 0)
    objects = {o.id: o for o in page.content.layers[0].objects}
    clipped = objects["16"]
    assert isinstance(clipped, TextObject)
    assert len(clipped.clips) == 1
    # "g 14 4.2333" expands into fourteen advances
    assert clipped.codes[0].delta_x[:14] == (4.2333,) * 14
    watermark = objects["22"]
    assert isinstance(watermark, TextObject)
    assert watermark.ctm == (0.7071, -0.7071, 0.7071, 0.7071, 0, 0)
    assert watermark.fill_color.rgb == (153, 153, 153)
    assert watermark.fill_color.alpha == 80
    # Document.xml names an Annotations.xml the writer never stored: read without it
    assert document.annotations == []
    assert [s.id for s in document.signatures] == ["2", "4"]
    first = document.signatures[0]
    assert first.check_method == "SM3"
    assert first.provider.name == "oesplugin"
    assert first.seal_path == "Doc_0/Signs/Sign_1/Seal.esl"
    assert first.signed_value_path == "Doc_0/Signs/Sign_1/SignedValue.dat"
    assert first.stamp_annots[0].page_ref == "1"
    assert first.stamp_annots[0].boundary == Box(90, 110, 42, 42)
    assert len(first.references) == 7
    assert len(first.references[0].check_value) == 32


def test_signed_invoice_reads_draw_params_annotations_and_oid_method() -> None:
    document = read_ofd(fixture("signedFile"))
    assert document.physical_box == Box(0, 0, 210, 140)
    assert document.draw_params["4"].line_width == 0.25
    line = document.templates["2"].layers[0].objects[0]
    assert isinstance(line, PathObject)
    assert line.stroke_color.rgb == (156, 82, 35)
    assert line.path == (("M", (0.0, 0.2)), ("L", (73.0, 0.2)))
    (annotation,) = document.annotations
    assert annotation.type == "Stamp"
    assert annotation.page_id == "1"
    assert annotation.boundary == Box(4.5, 104, 115, 20)
    (signature,) = document.signatures
    assert signature.check_method == "1.2.156.10197.1.401"
    assert signature.seal_path is None
    assert signature.date_time == "20201004072855.302Z"


def test_names_differing_in_case_resolve_to_the_stored_entry() -> None:
    # containsJPEG stores DOC_0/Res/Image_4.JPEG and refers to Doc_0/Res/Image_4.JPEG
    document = read_ofd(fixture("containsJPEG"))
    assert document.media["4"].file == "Doc_0/Res/Image_4.JPEG"
    assert document.package.find("Doc_0/Res/Image_4.JPEG") == "DOC_0/Res/Image_4.JPEG"
    assert len(document.pages) == 2
    assert document.page_box(document.pages[0]) == Box(0, 0, 209.9623, 296.9381)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_fixture_reads(name: str) -> None:
    document = read_ofd(fixture(name))
    assert document.pages
    assert "OFD.xml" in document.used


def test_errors_derive_from_the_project_root() -> None:
    with pytest.raises(GovkioskError):
        read_ofd(b"not a zip")


@pytest.mark.parametrize(
    "name",
    ["../evil.xml", "/abs.xml", "a/../../b.xml", "C:/x.xml", "a\\b.xml", "a//b.xml", "./x"],
)
def test_entry_names_that_leave_the_package_are_refused(name: str) -> None:
    with pytest.raises(OfdPackageError, match="not allowed"):
        OfdPackage.from_bytes(_zip({"OFD.xml": b"<OFD/>", name: b"x"}))


def test_duplicate_names_are_refused_even_by_case() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("OFD.xml", b"a")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("OFD.xml", b"b")
    with pytest.raises(OfdPackageError, match="twice"):
        OfdPackage.from_bytes(out.getvalue())
    with pytest.raises(OfdPackageError, match="twice"):
        OfdPackage.from_bytes(_zip({"Doc_0/a.xml": b"a", "DOC_0/A.xml": b"b"}))


def test_size_count_and_ratio_limits() -> None:
    bomb = _zip({"OFD.xml": b"\0" * (2 * 1024 * 1024)})
    with pytest.raises(OfdPackageError, match="inflates more than"):
        OfdPackage.from_bytes(bomb)
    with pytest.raises(OfdPackageError, match="beyond the limit"):
        OfdPackage.from_bytes(bomb, Limits(max_entry_size=1024 * 1024, max_ratio=10**6))
    with pytest.raises(OfdPackageError, match="beyond the limit"):
        OfdPackage.from_bytes(
            _zip({"a": b"x" * 600, "b": b"y" * 600}, zipfile.ZIP_STORED),
            Limits(max_total_size=1000),
        )
    with pytest.raises(OfdPackageError, match="entries"):
        OfdPackage.from_bytes(_zip({f"f{i}": b"" for i in range(5)}), Limits(max_entries=4))


def test_a_lying_size_in_the_zip_header_does_not_help() -> None:
    data = bytearray(_zip({"OFD.xml": b"A" * 5000}, zipfile.ZIP_STORED))
    # claim 10 bytes in the central directory: the reader inflates with its own cap
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(OfdPackageError):
        OfdPackage.from_bytes(bytes(data), Limits(max_entry_size=1000))


def test_encrypted_entries_are_refused() -> None:
    data = bytearray(_zip({"OFD.xml": b"<OFD/>"}, zipfile.ZIP_STORED))
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 1
    data[6] |= 1
    with pytest.raises(OfdPackageError, match="encrypted"):
        OfdPackage.from_bytes(bytes(data))


def test_locations_resolve_inside_the_package() -> None:
    assert (
        resolve("Doc_0/Document.xml", "Pages/Page_0/Content.xml")
        == "Doc_0/Pages/Page_0/Content.xml"
    )
    assert resolve("Doc_0/Signs/Signatures.xml", "/Doc_0/Signs/Sign_0/Signature.xml") == (
        "Doc_0/Signs/Sign_0/Signature.xml"
    )
    assert resolve("Doc_0/Res/", "a.png") == "Doc_0/Res/a.png"
    assert resolve("Doc_0/Pages/Page_0/Content.xml", "../../Res/x.png") == "Doc_0/Res/x.png"
    with pytest.raises(OfdPackageError, match="leaves"):
        resolve("Doc_0/Document.xml", "../../etc/passwd")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<OFD>&lol2;</OFD>"""
EXTERNAL = (
    b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><OFD>&x;</OFD>"""
)


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL, b"<!DOCTYPE OFD><OFD/>"])
def test_declarations_are_refused(xml: bytes) -> None:
    with pytest.raises(OfdFormatError, match="declaration is not allowed"):
        xmlsafe.parse(xml, "OFD.xml")
    tampered = rebuild(fixture("helloworld"), replace={"OFD.xml": xml})
    with pytest.raises(OfdFormatError, match="declaration"):
        read_ofd(tampered)


def test_utf16_declarations_are_refused_too() -> None:
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'
    with pytest.raises(OfdFormatError, match="declaration"):
        xmlsafe.parse(xml.encode("utf-16"), "x.xml")


def test_deep_nesting_and_bad_xml_are_refused() -> None:
    with pytest.raises(OfdFormatError, match="deeper"):
        xmlsafe.parse(b"<a>" * 100 + b"</a>" * 100, "x.xml")
    with pytest.raises(OfdFormatError, match="not well-formed"):
        xmlsafe.parse(b"<a><b></a>", "x.xml")


def test_namespace_prefixes_are_dropped() -> None:
    root = xmlsafe.parse(
        b'<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016" ofd:X="1"><ofd:A/></ofd:Page>', "p"
    )
    assert root.tag == "Page"
    assert root.get("X") == "1"
    assert root[0].tag == "A"


def test_path_data_is_parsed_and_checked() -> None:
    assert parse_path("M 0 0 L 1 2 B 1 1 2 2 3 3 Q 1 1 2 2 A 1 1 0 0 1 5 5 C", "p")[-1] == ("C", ())
    for bad in ("M 0", "X 1 2", "L a b", "M 1e400 0"):
        with pytest.raises(OfdFormatError):
            parse_path(bad, "p")


def test_missing_and_broken_parts_fail_with_their_name() -> None:
    hello = fixture("helloworld")
    with pytest.raises(OfdFormatError, match=r"Content\.xml is missing"):
        read_ofd(rebuild(hello, drop=["Doc_0/Pages/Page_0/Content.xml"]))
    broken = entry(hello, "Doc_0/Pages/Page_0/Content.xml").replace(b'Size="3.0"', b'Size="big"')
    with pytest.raises(OfdFormatError, match="Size"):
        read_ofd(rebuild(hello, replace={"Doc_0/Pages/Page_0/Content.xml": broken}))
    traversal = entry(hello, "OFD.xml").replace(b"Doc_0/Document.xml", b"../../Document.xml")
    with pytest.raises(OfdPackageError, match="leaves"):
        read_ofd(rebuild(hello, replace={"OFD.xml": traversal}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_raise_only_ofd_errors(data: bytes) -> None:
    with contextlib.suppress(OfdError):
        read_ofd(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["helloworld", "signedFile", "keyword"]),
    st.data(),
)
def test_fuzz_mutated_parts_raise_only_ofd_errors(name: str, data: st.DataObject) -> None:
    original = fixture(name)
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        xml_names = [n for n in archive.namelist() if n.endswith(".xml")]
    target = data.draw(st.sampled_from(sorted(xml_names)))
    content = bytearray(entry(original, target))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(content) - 1))
        content[position] = data.draw(
            st.sampled_from(list(b'<>"/= -.0123456789gMLBQACS&;x\x00\xff'))
        )
    try:
        document = read_ofd(rebuild(original, replace={target: bytes(content)}))
    except OfdError:
        return
    assert document.pages


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["M", "L", "Q", "B", "A", "C", "S", "1", "-2.5", "0", "1e3", "x"]),
        max_size=40,
    )
)
def test_fuzz_path_data(tokens: list) -> None:
    try:
        commands = parse_path(" ".join(tokens), "p")
    except OfdFormatError:
        return
    assert all(letter in "MLQBACS" for letter, _ in commands)
