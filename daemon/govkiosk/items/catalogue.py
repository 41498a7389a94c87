"""The item catalogue: what a citizen can do at this kiosk, one ``Item`` per service item.

Each item carries the standardised elements of §7.1.1 (name, conditions, materials,
process, result format) and what the kiosk needs to run it: the ordered steps of its
flow with any non-default timeouts, the print spec (§7.2) and the regions it serves
(a cross-province item, 跨省通办, lists other provinces' division codes).

A catalogue file is TOML, one ``[[items]]`` table per item (format: docs/items.md). It is
read, checked as a whole and only then handed over, so a bad file is reported with
every problem (file, item index and code, key, expectation) and never replaces a good
catalogue. The default catalogue (``data/catalogue.toml``) is the seven items of the
standard's Table 1, with their names exactly as published.

Besides the standard's elements an item carries what the citizen's screens show of it:
a plain one-line ``summary`` for its tile (the ``category`` stays the department's
term), an ``icon`` from a fixed set the UI can draw, and the ``consent`` notice — what
is queried, from whom and why — which is derived from the department and the item when
the file leaves it out, so every item has one. What the kiosk keeps is not a field: it
keeps nothing (§8 d), and the UI says so.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Literal, Mapping, Optional, Tuple, get_args

from ..fields import matches, positive, required, setting
from .errors import CatalogueFileError, CatalogueProblem
from .typed import build, choice

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on the kiosks' Python 3.8
    import tomli as tomllib

DEFAULT_CATALOGUE = Path(__file__).parent / "data" / "catalogue.toml"

StepType = Literal[
    "identity",
    "face_verify",
    "consent",
    "capture_materials",
    "query",
    "verify_seal",
    "preview",
    "print_a4",
    "print_receipt",
    "done",
]
#: The order steps take in every flow: who (identity, the face against the card's photo,
#: consent), the paper materials, what (query), whether
#: the document is genuine (verify_seal, §7.2 a) — before the citizen sees it (preview)
#: — the printing, the end.
STEP_ORDER: Tuple[str, ...] = get_args(StepType)
#: Steps every flow has.
REQUIRED_STEPS = ("identity", "query", "done")

ItemState = Literal["draft", "verified", "published"]

CODE_EXPECT = "an item code of 1-64 letters, digits, '_', '.' or '-'"
valid_code = matches(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _text(value: str) -> bool:
    return bool(value.strip())


def _texts(values: Tuple[str, ...]) -> bool:
    return bool(values) and all(_text(v) for v in values)


def _optional_text(value: str) -> bool:
    """Empty (not given), or a line with something on it."""
    return value == "" or (_text(value) and "\n" not in value)


def _optional_texts(values: Tuple[str, ...]) -> bool:
    return all(_text(v) and "\n" not in v for v in values)


#: A tile's subtitle: one short line (a Chinese glyph is one character; English words
#: take about twice the room).
SUMMARY_MAX = 30
SUMMARY_MAX_EN = 60
SUMMARY_EXPECT = f"a one-line plain-language summary of 1-{SUMMARY_MAX} characters"
SUMMARY_EXPECT_EN = f"a one-line plain-language summary of 1-{SUMMARY_MAX_EN} characters"


def _summary(limit: int) -> Callable[[str], bool]:
    return lambda value: value == "" or (_text(value) and "\n" not in value and len(value) <= limit)


#: The icons the UI can draw; an item names one, or gets its department's.
Icon = Literal[
    "police", "social_security", "pension", "medical", "household", "tax", "housing", "generic"
]
ICONS: Tuple[str, ...] = get_args(Icon)


@dataclass(frozen=True)
class Department:
    """What the kiosk knows of a department: its icon and its full name in both languages
    (the consent notice's default ``source``)."""

    icon: str
    source: str
    source_en: str


#: By the catalogue's short department name (Table 1's 类型 and the demo's items).
DEPARTMENTS: Dict[str, Department] = {
    "公安": Department("police", "公安机关", "The public security authorities"),
    "人社": Department(
        "social_security",
        "人力资源和社会保障部门",
        "The human resources and social security department",
    ),
    "医保": Department("medical", "医疗保障部门", "The medical insurance department"),
    "税务": Department("tax", "税务机关", "The tax authorities"),
    "住建": Department("housing", "住房和城乡建设部门", "The housing department"),
    "公积金": Department("housing", "住房公积金管理中心", "The housing provident fund centre"),
    "民政": Department("household", "民政部门", "The civil affairs department"),
}


@dataclass(frozen=True)
class Consent:
    """The authorisation notice (授权告知): what is queried, from whom, why. Empty fields
    are derived (:meth:`Item.consent_text`)."""

    data: Tuple[str, ...] = setting(
        (), expect="a list of what is queried (one line each)", check=_optional_texts
    )
    source: str = setting(
        "", expect="who the data is queried from, on one line", check=_optional_text
    )
    purpose: str = setting("", expect="why it is queried, on one line", check=_optional_text)


@dataclass(frozen=True)
class ConsentText:
    """The consent notice in one language, every field filled. The kiosk keeps none of
    the data (``retention`` is always ``none``, §8 d)."""

    data: Tuple[str, ...]
    source: str
    purpose: str
    retention: str = "none"


_DIVISION = matches(r"\d{6}")


def _timeout() -> Any:
    return setting(None, expect="a number of seconds > 0", check=positive)


@dataclass(frozen=True)
class StepTimeouts:
    """Per-step time limits, in seconds, where the item needs other than the flow's defaults."""

    identity: Optional[float] = _timeout()
    face_verify: Optional[float] = _timeout()
    consent: Optional[float] = _timeout()
    capture_materials: Optional[float] = _timeout()
    query: Optional[float] = _timeout()
    preview: Optional[float] = _timeout()
    verify_seal: Optional[float] = _timeout()
    print_a4: Optional[float] = _timeout()
    print_receipt: Optional[float] = _timeout()

    def get(self, step: str) -> Optional[float]:
        """The item's limit for ``step``; ``None``: the flow's default applies."""
        value: Optional[float] = getattr(self, step, None)
        return value

    def given(self) -> Dict[str, float]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class PrintSpec:
    """What the result looks like on paper (§7.2 b: a receipt slip when the department asks)."""

    a4_pages: int = setting(
        1, expect="a whole number of A4 pages from 0 to 20", check=lambda v: 0 <= v <= 20
    )
    receipt: bool = True
    receipt_template: str = setting(
        "transaction",
        expect="a receipt template name (lower-case letters, digits, '_')",
        check=matches(r"[a-z][a-z0-9_]{0,31}"),
    )


@dataclass(frozen=True)
class DocumentSpec:
    """The document the department issues for the item: a PDF or an OFD (GB/T 33190).

    The kiosk asks for this format (the request's ``format``) and verifies, previews and
    prints either kind, whichever the department sends (:mod:`govkiosk.backends.doctype`).
    """

    format: Literal["pdf", "ofd"] = "pdf"


@dataclass(frozen=True)
class PaperMaterial:
    """A paper material the citizen places under the document camera (高拍仪, §6.2 b)."""

    name: str = required(expect="the material's name as the citizen knows it", check=_text)
    pages: int = setting(
        1, expect="a whole number of pages from 1 to 20", check=lambda v: 1 <= v <= 20
    )
    #: The name in English; empty: the Chinese name.
    en: str = ""

    def title(self, language: str) -> str:
        return self.en if language == "en" and self.en else self.name


#: How the citizen proves who they are: the ID card alone, or the card and a live face
#: compared with the card's photo (人证核验).
IdentityProof = Literal["card", "card+face"]


@dataclass(frozen=True)
class Translation:
    """The item in another UI language; empty fields fall back to the Chinese text."""

    name: str = required(expect="the item's name in this language", check=_text)
    department: str = ""
    category: str = ""
    conditions: Tuple[str, ...] = ()
    materials: Tuple[str, ...] = ()
    summary: str = setting("", expect=SUMMARY_EXPECT_EN, check=_summary(SUMMARY_MAX_EN))
    consent: Consent = field(default_factory=Consent)


@dataclass(frozen=True)
class ItemText:
    """What a screen shows of an item, in one language."""

    name: str
    department: str
    category: str
    conditions: Tuple[str, ...]
    materials: Tuple[str, ...]
    summary: str = ""


ItemKind = Literal["native", "webapp"]

#: What a web-app item may use through the bridge (``[items.webapp] devices``).
BridgeDevice = Literal[
    "idcard", "face", "print_a4", "print_receipt", "qrscanner", "doccam", "speech"
]
BRIDGE_DEVICES: Tuple[str, ...] = get_args(BridgeDevice)
#: The card fields a web-app item may ask for (the card driver's field names); the
#: photo is never handed to a page.
CARD_FIELDS: Tuple[str, ...] = (
    "name",
    "gender",
    "nation",
    "birth_date",
    "address",
    "id_number",
    "authority",
    "valid_from",
    "valid_to",
    "pass_number",
    "issue_count",
    "card_number",
    "chinese_name",
    "english_name",
    "nationality",
)
_ORIGIN = re.compile(r"https://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?")


def https_origin(value: str) -> bool:
    """``https://host[:port]``, lower case, nothing after it."""
    return _ORIGIN.fullmatch(value) is not None


def origin_of(url: str) -> str:
    """The origin (``https://host[:port]``) of an ``https://`` URL; ``""`` if none."""
    if not url.startswith("https://"):
        return ""
    rest = url[len("https://") :]
    end = min((rest.index(c) for c in "/?#" if c in rest), default=len(rest))
    origin = "https://" + rest[:end].lower()
    return origin if https_origin(origin) else ""


@dataclass(frozen=True)
class WebApp:
    """A web-app item's manifest (``[items.webapp]``, docs/webapps.md)."""

    url: str = required(
        expect="an https:// URL without a fragment",
        check=lambda v: bool(origin_of(v)) and "#" not in v and len(v) <= 2000,
    )
    origins: Tuple[str, ...] = required(
        expect="a list of https origins (https://host[:port])",
        check=lambda v: bool(v) and all(https_origin(o) for o in v),
    )
    fields: Tuple[str, ...] = setting(
        (),
        expect=f"a list of card fields from: {', '.join(CARD_FIELDS)}",
        check=lambda v: all(f in CARD_FIELDS for f in v) and len(set(v)) == len(v),
    )
    devices: Tuple[BridgeDevice, ...] = ()
    time_limit: float = setting(600.0, expect="a number of seconds > 0", check=positive)
    seal_required: bool = True
    max_pages: int = setting(
        20, expect="a whole number of pages from 0 to 200", check=lambda v: 0 <= v <= 200
    )


@dataclass(frozen=True)
class Item:
    """One service item (§7.1.1). ``version`` counts its published revisions (§7.1.2)."""

    code: str = required(expect=CODE_EXPECT, check=valid_code)
    #: As published by the province (Table 1 names exactly).
    name: str = required(expect="the item's published name", check=_text)
    department: str = required(expect="the department that serves the item", check=_text)
    category: str = required(expect="the item's category", check=_text)
    applicant_type: Literal["natural_person", "legal_person"] = choice(
        '"natural_person" or "legal_person"'
    )
    conditions: Tuple[str, ...] = required(
        expect="a list of at least one condition (办理条件)", check=_texts
    )
    materials: Tuple[str, ...] = required(
        expect="a list of at least one required material (材料)", check=_texts
    )
    result_type: Literal["certificate_print", "elicence_print"] = choice(
        '"certificate_print" or "elicence_print"'
    )
    regions: Tuple[str, ...] = required(
        expect="a list of six-digit administrative division codes",
        check=lambda codes: bool(codes) and all(_DIVISION(c) for c in codes),
    )
    #: The flow's steps; a web-app item has none (its page is the flow).
    steps: Tuple[StepType, ...] = setting((), expect="a list of step types", check=lambda _s: True)
    #: ``card+face``: the face_verify step compares the citizen with the card's photo.
    identity: IdentityProof = "card"
    #: Materials captured with the document camera (the capture_materials step).
    captures: Tuple[PaperMaterial, ...] = ()
    printing: PrintSpec = field(default_factory=PrintSpec)
    #: The issued document's format (``[items.document] format``).
    document: DocumentSpec = field(default_factory=DocumentSpec)
    timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    en: Optional[Translation] = None
    #: The tile's plain-language subtitle (开具本人无犯罪记录的证明); the category stays
    #: the department's term.
    summary: str = setting("", expect=SUMMARY_EXPECT, check=_summary(SUMMARY_MAX))
    #: One of :data:`ICONS`; ``None``: the department's (:meth:`shown_icon`).
    icon: Optional[Icon] = None
    #: The authorisation notice; empty fields are derived (:meth:`consent_text`).
    consent: Consent = field(default_factory=Consent)
    #: The row of the standard's Table 1 (1-5, 7, 8: row 6 is missing as published).
    standard_row: Optional[int] = setting(None, expect="a row number >= 1", check=positive)
    state: ItemState = "published"
    version: int = setting(1, expect="a whole number >= 1", check=positive)
    #: ``native``: the kiosk's own flow (``steps``); ``webapp``: a province's web page in
    #: the kiosk browser, its devices through the bridge (``[items.webapp]``).
    kind: ItemKind = "native"
    webapp: Optional[WebApp] = None

    @property
    def provinces(self) -> FrozenSet[str]:
        """The provinces served, by the first two digits of each division code."""
        return frozenset(code[:2] for code in self.regions)

    @property
    def cross_province(self) -> bool:
        """Served for more than one province (跨省通办, §5.2)."""
        return len(self.provinces) > 1

    def text(self, language: str) -> ItemText:
        """Name, department, category, conditions, materials and summary for ``language``
        (zh_CN, en)."""
        zh = ItemText(
            self.name,
            self.department,
            self.category,
            self.conditions,
            self.materials,
            self.summary,
        )
        if language == "zh_CN" or self.en is None:
            return zh
        en = self.en
        return ItemText(
            en.name,
            en.department or zh.department,
            en.category or zh.category,
            en.conditions or zh.conditions,
            en.materials or zh.materials,
            en.summary or zh.summary,
        )

    @property
    def shown_icon(self) -> str:
        """The item's icon, else its department's, else ``generic``."""
        if self.icon is not None:
            return self.icon
        known = DEPARTMENTS.get(self.department)
        return known.icon if known is not None else "generic"

    def consent_text(self, language: str) -> Optional[ConsentText]:
        """The consent notice in ``language``, each field the file's or derived: the data
        is "what this item needs of your records", the source the department's full name,
        the purpose "to issue <name>". ``None`` for ``en`` when the item has no English."""
        known = DEPARTMENTS.get(self.department)
        if language == "zh_CN":
            given = self.consent
            return ConsentText(
                given.data or (f"办理“{self.name}”所需的本人信息",),
                given.source or (known.source if known is not None else self.department),
                given.purpose or f"为您办理“{self.name}”",
            )
        if self.en is None:
            return None
        given, name = self.en.consent, self.en.name
        return ConsentText(
            given.data or (f"Your records needed for: {name}",),
            given.source or (known.source_en if known is not None else self.en.department),
            given.purpose or f"To provide: {name}",
        )


def item_problems(item: Item) -> List[Tuple[str, str]]:
    """What is inconsistent between an item's fields: ``(key, message)`` pairs."""
    if item.kind == "webapp":
        return webapp_problems(item)
    problems: List[Tuple[str, str]] = []
    if item.webapp is not None:
        problems.append(("webapp", 'only an item of kind = "webapp" has a webapp table'))
    steps = item.steps
    if len(set(steps)) != len(steps) or list(steps) != sorted(steps, key=STEP_ORDER.index):
        problems.append(("steps", f"expected each step once, in the order {', '.join(STEP_ORDER)}"))
    missing = [s for s in REQUIRED_STEPS if s not in steps]
    if missing:
        problems.append(("steps", f"every flow needs the steps {', '.join(missing)}"))
    if ("print_a4" in steps) != (item.printing.a4_pages > 0):
        problems.append(
            ("printing.a4_pages", "must be > 0 exactly when the steps include print_a4")
        )
    if "print_a4" in steps and "verify_seal" not in steps:
        problems.append(("steps", "print_a4 needs verify_seal before it (§7.2 a: sealed results)"))
    if ("face_verify" in steps) != (item.identity == "card+face"):
        problems.append(
            ("identity", 'must be "card+face" exactly when the steps include face_verify')
        )
    if ("capture_materials" in steps) != bool(item.captures):
        problems.append(
            ("captures", "must list materials exactly when the steps include capture_materials")
        )
    if ("print_receipt" in steps) != item.printing.receipt:
        problems.append(
            ("printing.receipt", "must be true exactly when the steps include print_receipt")
        )
    problems.extend(
        (f"timeouts.{step}", f"the item has no {step} step")
        for step in item.timeouts.given()
        if step not in steps
    )
    return problems


def webapp_problems(item: Item) -> List[Tuple[str, str]]:
    """A web-app item: its manifest, consistent, and no native flow."""
    app = item.webapp
    if app is None:
        return [("webapp", 'an item of kind = "webapp" needs its [items.webapp] table')]
    problems: List[Tuple[str, str]] = []
    if item.steps:
        problems.append(("steps", "a web-app item has no steps: its page is the flow"))
    if origin_of(app.url) not in app.origins:
        problems.append(("webapp.origins", f"must include the url's origin {origin_of(app.url)}"))
    if app.fields and "idcard" not in app.devices:
        problems.append(("webapp.fields", 'card fields need "idcard" in webapp.devices'))
    if "face" in app.devices and "idcard" not in app.devices:
        problems.append(("webapp.devices", '"face" compares with the card: it needs "idcard"'))
    problems.extend(
        (f"timeouts.{step}", "a web-app item has no steps") for step in item.timeouts.given()
    )
    return problems


@dataclass(frozen=True)
class Catalogue:
    """A checked list of items, in file order, with unique codes."""

    items: Tuple[Item, ...]
    source: str

    def get(self, code: str) -> Optional[Item]:
        return next((item for item in self.items if item.code == code), None)

    @property
    def codes(self) -> Tuple[str, ...]:
        return tuple(item.code for item in self.items)


def parse_catalogue(document: Mapping[str, Any], source: str) -> Catalogue:
    """Check a whole catalogue document; :class:`CatalogueFileError` names every problem."""
    problems: List[CatalogueProblem] = [
        CatalogueProblem(source, None, None, key, "unknown key (known keys: items)")
        for key in sorted(set(document) - {"items"})
    ]
    tables = document.get("items")
    if not isinstance(tables, list) or not tables:
        problems.append(
            CatalogueProblem(source, None, None, "items", "expected a list of at least one item")
        )
        raise CatalogueFileError(problems)
    items: List[Item] = []
    first_index: Dict[str, int] = {}
    for index, table in enumerate(tables):
        code = table.get("code") if isinstance(table, dict) else None
        item, found = _check_item(table, source)
        if item is not None and item.code in first_index:
            found = [("code", f"duplicate of items[{first_index[item.code]}]")]
            item = None
        if item is None:
            shown = code if isinstance(code, str) else None
            problems.extend(CatalogueProblem(source, index, shown, k, m) for k, m in found)
            continue
        first_index[item.code] = index
        items.append(item)
    if problems:
        raise CatalogueFileError(problems)
    return Catalogue(tuple(items), source)


def _check_item(table: Any, source: str) -> Tuple[Optional[Item], List[Tuple[str, str]]]:
    """The item in ``table``, or ``None`` and its ``(key, message)`` problems."""
    if not isinstance(table, dict):
        return None, [("", "expected a table")]
    item, problems = build(Item, table, source)
    if item is None:
        return None, [(p.key, p.message) for p in problems]
    found = item_problems(item)
    return (None, found) if found else (item, [])


def loads_catalogue(text: str, source: str) -> Catalogue:
    """A catalogue from TOML text (a file's content, or a document ops sent)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CatalogueFileError(
            [CatalogueProblem(source, None, None, "", f"not valid TOML: {err}")]
        ) from err
    return parse_catalogue(document, source)


def load_catalogue(path: Path) -> Catalogue:
    """A catalogue from a TOML file. Blocking: call it off the event loop."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise CatalogueFileError(
            [CatalogueProblem(str(path), None, None, "", f"cannot be read: {err.strerror}")]
        ) from err
    except UnicodeDecodeError as err:
        raise CatalogueFileError(
            [CatalogueProblem(str(path), None, None, "", "not valid TOML: the file is not UTF-8")]
        ) from err
    return loads_catalogue(text, str(path))


def default_catalogue() -> Catalogue:
    """The seven items of the standard's Table 1 (§7.1.1), shipped with the daemon."""
    return load_catalogue(DEFAULT_CATALOGUE)


def item_document(item: Item) -> Dict[str, Any]:
    """The item as a JSON-ready table (the catalogue format), unset optional keys left out."""
    document: Dict[str, Any] = _without_none(dataclasses.asdict(item))
    return document


def item_json(item: Item) -> str:
    return json.dumps(item_document(item), ensure_ascii=False, sort_keys=True)


def item_from_document(document: Mapping[str, Any], source: str) -> Item:
    """The inverse of :func:`item_document`, checked like a catalogue entry."""
    return parse_catalogue({"items": [document]}, source).items[0]


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value]
    return value
