"""XML of untrusted documents, read with the standard library's expat.

No document type declaration is accepted, so no entity can be declared or expanded (the
"billion laughs" and external entity attacks need one); nesting depth and element count
are bounded. Names lose their namespace prefix: OFD writers use several namespace URIs
(``http://www.ofdspec.org`` and ``…/2016``) and some omit the prefix on a few elements,
so the reader matches local names only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Dict, List, Optional
from xml.parsers import expat

from .errors import OfdFormatError

MAX_DEPTH = 64
MAX_ELEMENTS = 200_000


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def parse(data: bytes, name: str) -> ET.Element:
    """The root element of ``data``; :class:`OfdFormatError` naming ``name`` otherwise."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    depth = 0
    count = 0

    def refuse(*_: object) -> None:
        raise OfdFormatError(f"{name}: a document type or entity declaration is not allowed")

    def start(tag: str, attrs: Dict[str, str]) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > MAX_DEPTH:
            raise OfdFormatError(f"{name}: elements nested deeper than {MAX_DEPTH}")
        if count > MAX_ELEMENTS:
            raise OfdFormatError(f"{name}: more than {MAX_ELEMENTS} elements")
        builder.start(_local(tag), {_local(k): v for k, v in attrs.items()})

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_local(tag))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as err:
        raise OfdFormatError(
            f"{name}: not well-formed XML ({expat.errors.messages[err.code]})"
        ) from None
    except (ValueError, LookupError, AssertionError) as err:  # unknown encoding, bad bytes
        raise OfdFormatError(f"{name}: not well-formed XML") from err
    return root


def child(element: ET.Element, tag: str) -> Optional[ET.Element]:
    for node in element:
        if node.tag == tag:
            return node
    return None


def children(element: ET.Element, tag: str) -> List[ET.Element]:
    return [node for node in element if node.tag == tag]


def text(element: ET.Element, tag: str) -> Optional[str]:
    node = child(element, tag)
    if node is None or node.text is None:
        return None
    return node.text.strip()
