"""An OFD document as read: the document's pages, resources, annotations and signatures.

``read_ofd`` follows the standard's chain: ``OFD.xml`` → the first ``DocBody`` →
``Document.xml`` → ``CommonData`` (page area, public and document resources, templates,
``MaxUnitID``) → each page's ``Content.xml`` (layers of text, path and image objects,
page blocks, clips) → ``Annotations`` → ``Signatures.xml`` → each ``Signature.xml``.
Lengths are millimetres; a matrix is ``(a, b, c, d, e, f)`` mapping ``(x, y)`` to
``(a·x + c·y + e, b·x + d·y + f)``, as in the standard. Anything malformed raises
:class:`~govkiosk.ofd.errors.OfdFormatError` (or :class:`OfdPackageError` for the zip).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

from . import xmlsafe
from .errors import OfdError, OfdFormatError
from .package import Limits, OfdPackage, resolve

Matrix = Tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
MAX_PAGES = 1000
MAX_GLYPHS = 100_000
MAX_PATH_COMMANDS = 200_000
PAGE_MM_LIMIT = 5000.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def normalised(self) -> Box:
        """The same rectangle with a non-negative width and height."""
        x, w = (self.x + self.w, -self.w) if self.w < 0 else (self.x, self.w)
        y, h = (self.y + self.h, -self.h) if self.h < 0 else (self.y, self.h)
        return Box(x, y, w, h)


@dataclass(frozen=True)
class Color:
    """An RGB colour 0..255 and its opacity 0..255."""

    rgb: Tuple[int, int, int] = (0, 0, 0)
    alpha: int = 255


#: One drawing command of ``AbbreviatedData``: the letter and its numbers.
PathCommand = Tuple[str, Tuple[float, ...]]


@dataclass(frozen=True)
class ClipArea:
    """One ``Area`` of a ``Clip``: a path (in the clipped object's boundary space)."""

    path: Tuple[PathCommand, ...]
    ctm: Matrix = IDENTITY
    origin: Tuple[float, float] = (0.0, 0.0)
    #: whether the clipped object's own CTM applies to the area too
    trans_flag: bool = False


#: A ``Clip`` is the union of its areas; an object's clips intersect.
Clip = Tuple[ClipArea, ...]


@dataclass(frozen=True)
class TextCode:
    x: float
    y: float
    text: str
    delta_x: Tuple[float, ...] = ()
    delta_y: Tuple[float, ...] = ()

    def positions(
        self, advance: Optional[Callable[[str], float]] = None
    ) -> List[Tuple[str, float, float]]:
        """Each character with its origin (in the object's space). Where neither
        ``DeltaX`` nor ``DeltaY`` gives an offset, a character moves the pen by its own
        width, ``advance(char)``, when the caller knows the font; a column of text
        (``DeltaY`` only) keeps its x."""
        x, y = self.x, self.y
        out = []
        for index, char in enumerate(self.text):
            out.append((char, x, y))
            if index < len(self.delta_x):
                x += self.delta_x[index]
            elif advance is not None and index >= len(self.delta_y):
                x += advance(char)  # no offset at all: the next character follows
            if index < len(self.delta_y):
                y += self.delta_y[index]
        return out


@dataclass(frozen=True)
class GraphicBase:
    id: str
    boundary: Box
    ctm: Matrix
    clips: Tuple[Clip, ...]
    alpha: int


@dataclass(frozen=True)
class TextObject(GraphicBase):
    font: str
    size: float
    codes: Tuple[TextCode, ...]
    fill: bool = True
    stroke: bool = False
    fill_color: Color = Color()
    stroke_color: Color = Color()
    weight: int = 400
    italic: bool = False
    h_scale: float = 1.0


@dataclass(frozen=True)
class PathObject(GraphicBase):
    path: Tuple[PathCommand, ...]
    stroke: bool = True
    fill: bool = False
    line_width: float = 0.353
    fill_color: Color = Color()
    stroke_color: Color = Color()
    even_odd: bool = False


@dataclass(frozen=True)
class ImageObject(GraphicBase):
    resource: str


@dataclass(frozen=True)
class PageBlock:
    id: str
    objects: Tuple[GraphicObject, ...]


GraphicObject = Union[TextObject, PathObject, ImageObject, PageBlock]


@dataclass(frozen=True)
class Layer:
    id: str
    type: str
    objects: Tuple[GraphicObject, ...]


@dataclass(frozen=True)
class Content:
    """A page's or a template's content."""

    area: Optional[Box]
    layers: Tuple[Layer, ...]
    #: (template id, z-order: "Background" or "Foreground")
    templates: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Page:
    id: str
    path: str
    content: Content


@dataclass(frozen=True)
class Font:
    id: str
    name: str
    family: str
    #: the embedded font's package path, or None for a system font
    file: Optional[str]
    bold: bool = False
    italic: bool = False
    serif: bool = False
    fixed_width: bool = False


@dataclass(frozen=True)
class MultiMedia:
    id: str
    type: str
    format: str
    file: str


@dataclass(frozen=True)
class DrawParam:
    id: str
    relative: Optional[str]
    line_width: Optional[float]
    fill_color: Optional[Color]
    stroke_color: Optional[Color]


@dataclass(frozen=True)
class Annotation:
    page_id: str
    id: str
    type: str
    subtype: str
    boundary: Optional[Box]
    objects: Tuple[GraphicObject, ...]
    visible: bool = True
    printable: bool = True


@dataclass(frozen=True)
class Reference:
    """One protected file: its package path and the digest recorded for it."""

    file_ref: str
    path: str
    check_value: bytes


@dataclass(frozen=True)
class StampAnnot:
    id: str
    page_ref: str
    boundary: Box
    clip: Optional[Box] = None


@dataclass(frozen=True)
class Provider:
    name: str
    version: str = ""
    company: str = ""


@dataclass(frozen=True)
class Signature:
    """One ``Signature.xml``: what is signed, how, and where its parts are."""

    id: str
    type: str
    path: str
    provider: Provider
    method: str
    date_time: str
    check_method: str
    references: Tuple[Reference, ...]
    stamp_annots: Tuple[StampAnnot, ...]
    #: the seal file (``Seal.esl``) some writers add beside the signed value, or None
    seal_path: Optional[str]
    signed_value_path: str


@dataclass
class Document:
    """The first document of an OFD package, read."""

    package: OfdPackage
    path: str
    physical_box: Box
    max_unit_id: Optional[int]
    pages: List[Page]
    templates: Dict[str, Content]
    fonts: Dict[str, Font]
    media: Dict[str, MultiMedia]
    draw_params: Dict[str, DrawParam]
    annotations: List[Annotation]
    signatures: List[Signature]
    signatures_path: Optional[str]
    doc_info: Dict[str, str] = field(default_factory=dict)
    #: package paths the reader consulted to build the document
    used: List[str] = field(default_factory=list)

    def page_box(self, page: Page) -> Box:
        return (page.content.area or self.physical_box).normalised()


# ---- values ---------------------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _float(value: str, where: str) -> float:
    token = value.strip()
    if not _NUMBER.match(token):
        raise OfdFormatError(f"{where}: {token[:20]!r} is not a number")
    number = float(token)
    if not math.isfinite(number) or abs(number) > 1e7:
        raise OfdFormatError(f"{where}: number out of range")
    return number


def _floats(value: Optional[str], where: str) -> Tuple[float, ...]:
    if value is None:
        return ()
    return tuple(_float(token, where) for token in value.split())


def _box(value: Optional[str], where: str) -> Box:
    numbers = _floats(value, where)
    if len(numbers) != 4:
        raise OfdFormatError(f"{where}: a box needs 4 numbers")
    return Box(*numbers)


def _opt_box(value: Optional[str], where: str) -> Optional[Box]:
    return None if value is None else _box(value, where)


def _matrix(value: Optional[str], where: str) -> Matrix:
    if value is None:
        return IDENTITY
    numbers = _floats(value, where)
    if len(numbers) != 6:
        raise OfdFormatError(f"{where}: a CTM needs 6 numbers")
    return (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])


def _deltas(value: Optional[str], where: str, limit: int) -> Tuple[float, ...]:
    """``DeltaX``/``DeltaY`` with the ``g N value`` repetition expanded."""
    if value is None:
        return ()
    tokens = value.split()
    out: List[float] = []
    index = 0
    while index < len(tokens):
        if tokens[index] == "g":
            if index + 2 >= len(tokens):
                raise OfdFormatError(f"{where}: 'g' needs a count and a value")
            count = _float(tokens[index + 1], where)
            if count != int(count) or count < 0 or len(out) + count > limit:
                raise OfdFormatError(f"{where}: bad repeat count")
            out.extend([_float(tokens[index + 2], where)] * int(count))
            index += 3
        else:
            out.append(_float(tokens[index], where))
            index += 1
        if len(out) > limit:
            raise OfdFormatError(f"{where}: more offsets than characters")
    return tuple(out)


def _bool(value: Optional[str], default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("true", "1")


def _int(value: Optional[str], default: int, where: str) -> int:
    if value is None:
        return default
    number = _float(value, where)
    return int(number)


def _color(element: Optional[ET.Element], where: str) -> Optional[Color]:
    if element is None:
        return None
    alpha = max(0, min(255, _int(element.get("Alpha"), 255, where)))
    value = element.get("Value")
    if value is None:
        return Color((0, 0, 0), alpha)
    tokens = value.split()
    if tokens and tokens[0].startswith("#"):
        numbers = [int(t.lstrip("#"), 16) for t in tokens if re.fullmatch(r"#?[0-9A-Fa-f]{1,2}", t)]
    else:
        numbers = [int(_float(t, where)) for t in tokens]
    if len(numbers) == 1:  # grey
        numbers = numbers * 3
    elif len(numbers) == 4:  # CMYK
        c, m, y, k = (n / 255 for n in numbers)
        numbers = [
            round(255 * (1 - c) * (1 - k)),
            round(255 * (1 - m) * (1 - k)),
            round(255 * (1 - y) * (1 - k)),
        ]
    if len(numbers) != 3:
        raise OfdFormatError(f"{where}: a colour needs 1, 3 or 4 components")
    r, g, b = (max(0, min(255, n)) for n in numbers)
    return Color((r, g, b), alpha)


_COMMAND_ARITY = {"S": 2, "M": 2, "L": 2, "Q": 4, "B": 6, "A": 7, "C": 0}


def parse_path(data: str, where: str) -> Tuple[PathCommand, ...]:
    """``AbbreviatedData`` as commands: M/S x y, L x y, Q x1 y1 x y, B x1 y1 x2 y2 x y,
    A rx ry angle large sweep x y, C (close)."""
    tokens = data.split()
    out: List[PathCommand] = []
    index = 0
    while index < len(tokens):
        letter = tokens[index]
        arity = _COMMAND_ARITY.get(letter)
        if arity is None:
            raise OfdFormatError(f"{where}: unknown path command {letter[:8]!r}")
        numbers = tokens[index + 1 : index + 1 + arity]
        if len(numbers) != arity:
            raise OfdFormatError(f"{where}: path command {letter} needs {arity} numbers")
        out.append((letter, tuple(_float(n, where) for n in numbers)))
        index += 1 + arity
        if len(out) > MAX_PATH_COMMANDS:
            raise OfdFormatError(f"{where}: path too long")
    return tuple(out)


# ---- reader ---------------------------------------------------------------------------


class _Reader:
    def __init__(self, package: OfdPackage) -> None:
        self.package = package
        self.used: List[str] = []
        self.glyphs = 0
        self.draw_params: Dict[str, DrawParam] = {}

    def xml(self, path: str) -> ET.Element:
        stored = self.package.find(path)
        if stored is None:
            raise OfdFormatError(f"{path} is missing")
        self.used.append(stored)
        return xmlsafe.parse(self.package[stored], stored)

    # content objects
    def _common(
        self, node: ET.Element, where: str
    ) -> Tuple[str, Box, Matrix, Tuple[Clip, ...], int]:
        ident = node.get("ID", "")
        boundary = _box(node.get("Boundary"), f"{where} object {ident} Boundary")
        ctm = _matrix(node.get("CTM"), f"{where} object {ident} CTM")
        alpha = max(0, min(255, _int(node.get("Alpha"), 255, where)))
        clips: List[Clip] = []
        clips_node = xmlsafe.child(node, "Clips")
        if clips_node is not None:
            for clip in xmlsafe.children(clips_node, "Clip"):
                areas: List[ClipArea] = []
                for area in xmlsafe.children(clip, "Area"):
                    area_ctm = _matrix(area.get("CTM"), f"{where} clip CTM")
                    path = xmlsafe.child(area, "Path")
                    if path is None:
                        continue
                    origin = _box(path.get("Boundary"), f"{where} clip Boundary")
                    data = xmlsafe.text(path, "AbbreviatedData") or ""
                    path_ctm = _matrix(path.get("CTM"), f"{where} clip path CTM")
                    areas.append(
                        ClipArea(
                            parse_path(data, f"{where} clip"),
                            _multiply(path_ctm, area_ctm),
                            (origin.x, origin.y),
                            _bool(clips_node.get("TransFlag") or area.get("TransFlag"), False),
                        )
                    )
                clips.append(tuple(areas))
        return ident, boundary, ctm, tuple(clips), alpha

    def _param(self, node: ET.Element, inherited: Optional[str]) -> Dict[str, object]:
        """What a DrawParam (the object's, else its layer's) gives, following ``Relative``."""
        values: Dict[str, object] = {}
        ident = node.get("DrawParam") or inherited
        seen = 0
        while ident is not None and ident in self.draw_params and seen < 16:
            param = self.draw_params[ident]
            for key, value in (
                ("line_width", param.line_width),
                ("fill_color", param.fill_color),
                ("stroke_color", param.stroke_color),
            ):
                if value is not None and key not in values:
                    values[key] = value
            ident = param.relative
            seen += 1
        return values

    def objects(
        self, parent: ET.Element, where: str, param: Optional[str]
    ) -> Tuple[GraphicObject, ...]:
        out: List[GraphicObject] = []
        for node in parent:
            if node.tag == "TextObject":
                out.append(self.text_object(node, where, param))
            elif node.tag == "PathObject":
                out.append(self.path_object(node, where, param))
            elif node.tag == "ImageObject":
                ident, boundary, ctm, clips, alpha = self._common(node, where)
                resource = node.get("ResourceID")
                if resource is None:
                    raise OfdFormatError(f"{where}: image object {ident} has no ResourceID")
                out.append(ImageObject(ident, boundary, ctm, clips, alpha, resource.strip()))
            elif node.tag == "PageBlock":
                out.append(PageBlock(node.get("ID", ""), self.objects(node, where, param)))
        return tuple(out)

    def text_object(self, node: ET.Element, where: str, param: Optional[str]) -> TextObject:
        ident, boundary, ctm, clips, alpha = self._common(node, where)
        font = node.get("Font")
        if font is None:
            raise OfdFormatError(f"{where}: text object {ident} has no Font")
        size = _float(node.get("Size", "0"), f"{where} text object {ident} Size")
        if not 0 <= size <= 1000:
            raise OfdFormatError(f"{where}: text object {ident} has a size out of range")
        inherited = self._param(node, param)
        fill_color = _color(xmlsafe.child(node, "FillColor"), where) or inherited.get("fill_color")
        stroke_color = _color(xmlsafe.child(node, "StrokeColor"), where) or inherited.get(
            "stroke_color"
        )
        codes = []
        for code in xmlsafe.children(node, "TextCode"):
            content = code.text or ""
            self.glyphs += len(content)
            if self.glyphs > MAX_GLYPHS:
                raise OfdFormatError(f"{where}: more than {MAX_GLYPHS} characters")
            codes.append(
                TextCode(
                    _float(code.get("X", "0"), f"{where} TextCode X"),
                    _float(code.get("Y", "0"), f"{where} TextCode Y"),
                    content,
                    _deltas(code.get("DeltaX"), f"{where} DeltaX", max(len(content), 1)),
                    _deltas(code.get("DeltaY"), f"{where} DeltaY", max(len(content), 1)),
                )
            )
        return TextObject(
            ident,
            boundary,
            ctm,
            clips,
            alpha,
            font=font.strip(),
            size=size,
            codes=tuple(codes),
            fill=_bool(node.get("Fill"), True),
            stroke=_bool(node.get("Stroke"), False),
            fill_color=fill_color if isinstance(fill_color, Color) else Color(),
            stroke_color=stroke_color if isinstance(stroke_color, Color) else Color(),
            weight=_int(node.get("Weight"), 400, where),
            italic=_bool(node.get("Italic"), False),
            h_scale=_float(node.get("HScale", "1"), where),
        )

    def path_object(self, node: ET.Element, where: str, param: Optional[str]) -> PathObject:
        ident, boundary, ctm, clips, alpha = self._common(node, where)
        inherited = self._param(node, param)
        width = node.get("LineWidth")
        line_width = (
            _float(width, f"{where} LineWidth")
            if width is not None
            else inherited.get("line_width", 0.353)
        )
        fill_color = _color(xmlsafe.child(node, "FillColor"), where) or inherited.get("fill_color")
        stroke_color = _color(xmlsafe.child(node, "StrokeColor"), where) or inherited.get(
            "stroke_color"
        )
        return PathObject(
            ident,
            boundary,
            ctm,
            clips,
            alpha,
            path=parse_path(xmlsafe.text(node, "AbbreviatedData") or "", f"{where} path {ident}"),
            stroke=_bool(node.get("Stroke"), True),
            fill=_bool(node.get("Fill"), False),
            line_width=float(line_width) if isinstance(line_width, (int, float)) else 0.353,
            fill_color=fill_color if isinstance(fill_color, Color) else Color(),
            stroke_color=stroke_color if isinstance(stroke_color, Color) else Color(),
            even_odd=(node.get("Rule") or "").strip() == "Even-Odd",
        )

    def content(self, path: str) -> Content:
        root = self.xml(path)
        area_node = xmlsafe.child(root, "Area")
        area = None
        if area_node is not None:
            area = _opt_box(xmlsafe.text(area_node, "PhysicalBox"), f"{path} PhysicalBox")
        templates = tuple(
            (t.get("TemplateID", "").strip(), t.get("ZOrder", "Background").strip())
            for t in xmlsafe.children(root, "Template")
        )
        layers: List[Layer] = []
        content = xmlsafe.child(root, "Content")
        if content is not None:
            for layer in xmlsafe.children(content, "Layer"):
                layers.append(
                    Layer(
                        layer.get("ID", ""),
                        layer.get("Type", "Body"),
                        self.objects(layer, path, layer.get("DrawParam")),
                    )
                )
        return Content(area, tuple(layers), templates)

    # resources
    def resources(self, path: str, fonts: Dict[str, Font], media: Dict[str, MultiMedia]) -> None:
        root = self.xml(path)
        base = resolve(path, root.get("BaseLoc") or ".") + "/" if root.get("BaseLoc") else path
        for group in root:
            for node in group:
                ident = (node.get("ID") or "").strip()
                if not ident:
                    continue
                if node.tag == "Font":
                    file = xmlsafe.text(node, "FontFile")
                    fonts[ident] = Font(
                        ident,
                        node.get("FontName", ""),
                        node.get("FamilyName", node.get("FontName", "")),
                        resolve(base, file) if file else None,
                        bold=_bool(node.get("Bold"), False),
                        italic=_bool(node.get("Italic"), False),
                        serif=_bool(node.get("Serif"), False),
                        fixed_width=_bool(node.get("FixedWidth"), False),
                    )
                elif node.tag == "MultiMedia":
                    file = xmlsafe.text(node, "MediaFile")
                    if file:
                        media[ident] = MultiMedia(
                            ident, node.get("Type", ""), node.get("Format", ""), resolve(base, file)
                        )
                elif node.tag == "DrawParam":
                    width = node.get("LineWidth")
                    self.draw_params[ident] = DrawParam(
                        ident,
                        node.get("Relative"),
                        _float(width, f"{path} LineWidth") if width is not None else None,
                        _color(xmlsafe.child(node, "FillColor"), path),
                        _color(xmlsafe.child(node, "StrokeColor"), path),
                    )

    def annotations(self, path: str) -> List[Annotation]:
        root = self.xml(path)
        out: List[Annotation] = []
        for page in xmlsafe.children(root, "Page"):
            page_id = page.get("PageID", "").strip()
            loc = xmlsafe.text(page, "FileLoc")
            if not loc:
                continue
            page_root = self.xml(resolve(path, loc))
            for annot in xmlsafe.children(page_root, "Annot"):
                appearance = xmlsafe.child(annot, "Appearance")
                boundary = None
                objects: Tuple[GraphicObject, ...] = ()
                if appearance is not None:
                    boundary = _opt_box(appearance.get("Boundary"), f"{path} Appearance")
                    objects = self.objects(appearance, path, None)
                out.append(
                    Annotation(
                        page_id,
                        annot.get("ID", ""),
                        annot.get("Type", ""),
                        annot.get("Subtype", ""),
                        boundary,
                        objects,
                        _bool(annot.get("Visible"), True),
                        _bool(annot.get("Print"), True),
                    )
                )
        return out

    def signature(self, ident: str, kind: str, path: str) -> Signature:
        root = self.xml(path)
        info = xmlsafe.child(root, "SignedInfo")
        if info is None:
            raise OfdFormatError(f"{path}: no SignedInfo")
        provider_node = xmlsafe.child(info, "Provider")
        provider = Provider(
            provider_node.get("ProviderName", "") if provider_node is not None else "",
            provider_node.get("Version", "") if provider_node is not None else "",
            provider_node.get("Company", "") if provider_node is not None else "",
        )
        refs_node = xmlsafe.child(info, "References")
        if refs_node is None:
            raise OfdFormatError(f"{path}: no References")
        references = []
        for ref in xmlsafe.children(refs_node, "Reference"):
            file_ref = ref.get("FileRef")
            value = xmlsafe.text(ref, "CheckValue")
            if file_ref is None or value is None:
                raise OfdFormatError(f"{path}: a Reference lacks FileRef or CheckValue")
            references.append(Reference(file_ref, resolve(path, file_ref), _base64(value, path)))
        if not references:
            raise OfdFormatError(f"{path}: no Reference")
        stamps = []
        for stamp in xmlsafe.children(info, "StampAnnot"):
            stamps.append(
                StampAnnot(
                    stamp.get("ID", ""),
                    stamp.get("PageRef", "").strip(),
                    _box(stamp.get("Boundary"), f"{path} StampAnnot Boundary"),
                    _opt_box(stamp.get("Clip"), f"{path} StampAnnot Clip"),
                )
            )
        seal = xmlsafe.child(info, "Seal")
        seal_loc = xmlsafe.text(seal, "BaseLoc") if seal is not None else None
        signed_value = xmlsafe.text(root, "SignedValue")
        if not signed_value:
            raise OfdFormatError(f"{path}: no SignedValue")
        return Signature(
            ident,
            kind,
            path,
            provider,
            xmlsafe.text(info, "SignatureMethod") or "",
            xmlsafe.text(info, "SignatureDateTime") or "",
            refs_node.get("CheckMethod", "").strip(),
            tuple(references),
            tuple(stamps),
            resolve(path, seal_loc) if seal_loc else None,
            resolve(path, signed_value),
        )


def _base64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise OfdFormatError(f"{where}: a CheckValue is not base64") from None


def _multiply(first: Matrix, then: Matrix) -> Matrix:
    """The matrix applying ``first`` then ``then``."""
    a, b, c, d, e, f = first
    A, B, C, D, E, F = then
    return (
        a * A + b * C,
        a * B + b * D,
        c * A + d * C,
        c * B + d * D,
        e * A + f * C + E,
        e * B + f * D + F,
    )


multiply = _multiply


def read_ofd(data: bytes, limits: Optional[Limits] = None) -> Document:
    """The first document of the OFD package ``data``; :class:`OfdError` if unreadable."""
    package = OfdPackage.from_bytes(data, limits)
    return read_package(package)


def read_package(package: OfdPackage) -> Document:
    try:
        return _read(package)
    except OfdError:
        raise
    except RecursionError:
        raise OfdFormatError("document nested too deeply") from None


def _body(reader: _Reader) -> Tuple[ET.Element, Dict[str, str]]:
    root = reader.xml("OFD.xml")
    if root.tag != "OFD":
        raise OfdFormatError("OFD.xml: the root is not OFD")
    body = xmlsafe.child(root, "DocBody")
    if body is None:
        raise OfdFormatError("OFD.xml: no DocBody")
    doc_info: Dict[str, str] = {}
    info = xmlsafe.child(body, "DocInfo")
    if info is not None:
        for node in info:
            if node.text and node.text.strip() and len(node) == 0:
                doc_info[node.tag] = node.text.strip()
    return body, doc_info


def _pages(reader: _Reader, document: ET.Element, doc_path: str) -> List[Page]:
    pages: List[Page] = []
    pages_node = xmlsafe.child(document, "Pages")
    for node in xmlsafe.children(pages_node, "Page") if pages_node is not None else []:
        if len(pages) >= MAX_PAGES:
            raise OfdFormatError(f"{doc_path}: more than {MAX_PAGES} pages")
        loc = node.get("BaseLoc")
        if not loc:
            raise OfdFormatError(f"{doc_path}: a page has no BaseLoc")
        path = resolve(doc_path, loc)
        pages.append(Page(node.get("ID", "").strip(), path, reader.content(path)))
    if not pages:
        raise OfdFormatError(f"{doc_path}: no pages")
    return pages


def _signatures(reader: _Reader, signs_path: str) -> List[Signature]:
    signs_root = reader.xml(signs_path)
    signatures = []
    for node in xmlsafe.children(signs_root, "Signature"):
        loc = node.get("BaseLoc")
        if not loc:
            raise OfdFormatError(f"{signs_path}: a signature has no BaseLoc")
        signatures.append(
            reader.signature(
                node.get("ID", "").strip(),
                node.get("Type", "Seal").strip(),
                resolve(signs_path, loc),
            )
        )
    return signatures


def _read(package: OfdPackage) -> Document:
    reader = _Reader(package)
    body, doc_info = _body(reader)
    doc_root = xmlsafe.text(body, "DocRoot")
    if not doc_root:
        raise OfdFormatError("OFD.xml: no DocRoot")
    doc_path = resolve("OFD.xml", doc_root)
    document = reader.xml(doc_path)
    common = xmlsafe.child(document, "CommonData")
    area = xmlsafe.child(common, "PageArea") if common is not None else None
    if common is None or area is None:
        raise OfdFormatError(f"{doc_path}: no CommonData with a PageArea")
    physical = _box(xmlsafe.text(area, "PhysicalBox"), f"{doc_path} PhysicalBox").normalised()
    if not (0 < physical.w <= PAGE_MM_LIMIT and 0 < physical.h <= PAGE_MM_LIMIT):
        raise OfdFormatError(f"{doc_path}: page size out of range")
    max_unit = xmlsafe.text(common, "MaxUnitID")
    fonts: Dict[str, Font] = {}
    media: Dict[str, MultiMedia] = {}
    for tag in ("PublicRes", "DocumentRes"):
        for node in xmlsafe.children(common, tag):
            if node.text and node.text.strip():
                reader.resources(resolve(doc_path, node.text), fonts, media)
    templates: Dict[str, Content] = {}
    for node in xmlsafe.children(common, "TemplatePage"):
        loc = node.get("BaseLoc")
        ident = node.get("ID", "").strip()
        if loc and ident:
            templates[ident] = reader.content(resolve(doc_path, loc))
    pages = _pages(reader, document, doc_path)
    annotations: List[Annotation] = []
    annots = xmlsafe.text(document, "Annotations")
    # A writer may name an annotation list it never wrote; the document reads without it.
    if annots and package.find(resolve(doc_path, annots)) is not None:
        annotations = reader.annotations(resolve(doc_path, annots))
    signs = xmlsafe.text(body, "Signatures")
    signs_path = resolve("OFD.xml", signs) if signs else None
    return Document(
        package=package,
        path=doc_path,
        physical_box=physical,
        max_unit_id=int(_float(max_unit, f"{doc_path} MaxUnitID")) if max_unit else None,
        pages=pages,
        templates=templates,
        fonts=fonts,
        media=media,
        draw_params=dict(reader.draw_params),
        annotations=annotations,
        signatures=_signatures(reader, signs_path) if signs_path is not None else [],
        signatures_path=signs_path,
        doc_info=doc_info,
        used=reader.used,
    )
