"""The daemon's answers as plain frozen values, and which screen shows them (no Kivy, no D-Bus).

The session's ``a{sv}`` (docs/session-api.md) arrives already unpacked from its
variants; these functions only read it. Deciding what the citizen may do is the
daemon's business: the UI shows the ``choices`` it is given and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

from govkiosk.contract.names import CARD_READER_POSITIONS, ITEM_ICONS

#: A session in one of these states is over; the daemon has wiped it.
FINISHED = ("cancelled", "expired")

#: Step → screen. A step the UI does not know yet (``face``) gets the generic step screen,
#: which shows the prompt, the progress and the choices: new steps work before they look special.
STEP_SCREENS = {
    "identity": "card",  # until the card is read; then "confirm" (see screen_for)
    "face_verify": "face",
    "consent": "confirm",
    "capture_materials": "capture",
    "query": "progress",
    "verify_seal": "progress",
    "preview": "preview",
    "print_a4": "printing",
    "print_receipt": "printing",
    "done": "done",
}
GENERIC_STEP_SCREEN = "progress"


#: The icons the daemon names (``icon``); anything else is drawn as ``generic``.
ICONS = ITEM_ICONS


@dataclass(frozen=True)
class ItemText:
    """What the screens show of an item in one language (:meth:`Item.text`)."""

    name: str
    department: str
    category: str
    summary: str
    conditions: Tuple[str, ...]
    materials: Tuple[str, ...]
    captures: Tuple[str, ...]
    #: The consent notice: what is queried, from whom, why. The kiosk keeps none of it.
    consent_data: Tuple[str, ...]
    consent_source: str
    consent_purpose: str


def _strings(row: Mapping[str, Any], key: str) -> Tuple[str, ...]:
    return tuple(str(v) for v in row.get(key, ()))


@dataclass(frozen=True)
class Item:
    """One published item (``ListItems``). The Chinese text and, in the ``*_en`` fields,
    the English where the catalogue has it (empty otherwise): :meth:`text` picks."""

    code: str
    name: str
    department: str
    conditions: Tuple[str, ...] = ()
    materials: Tuple[str, ...] = ()
    steps: Tuple[str, ...] = ()
    result_type: str = ""
    a4_pages: int = 0
    receipt: bool = False
    #: ``card+face``: the citizen's face is compared with the card's photo.
    identity: str = "card"
    #: False: the kiosk lacks a part the item needs now (a camera, face verification).
    available: bool = True
    category: str = ""
    #: The tile's plain-language subtitle.
    summary: str = ""
    #: One of :data:`ICONS`.
    icon: str = "generic"
    #: Paper materials for the document camera.
    captures: Tuple[str, ...] = ()
    consent_data: Tuple[str, ...] = ()
    consent_source: str = ""
    consent_purpose: str = ""
    name_en: str = ""
    department_en: str = ""
    category_en: str = ""
    summary_en: str = ""
    conditions_en: Tuple[str, ...] = ()
    materials_en: Tuple[str, ...] = ()
    captures_en: Tuple[str, ...] = ()
    consent_data_en: Tuple[str, ...] = ()
    consent_source_en: str = ""
    consent_purpose_en: str = ""

    def text(self, language: str) -> ItemText:
        """The shown strings for ``language`` (``zh_CN`` or ``en``): each English field
        where there is one, else the Chinese (a list falls back as a whole; a capture
        name one by one)."""
        zh = ItemText(
            self.name,
            self.department,
            self.category,
            self.summary,
            self.conditions,
            self.materials,
            self.captures,
            self.consent_data,
            self.consent_source,
            self.consent_purpose,
        )
        if language != "en":
            return zh
        captures = tuple(
            en or name
            for name, en in zip(self.captures, self.captures_en + ("",) * len(self.captures))
        )
        return ItemText(
            self.name_en or zh.name,
            self.department_en or zh.department,
            self.category_en or zh.category,
            self.summary_en or zh.summary,
            self.conditions_en or zh.conditions,
            self.materials_en or zh.materials,
            captures,
            self.consent_data_en or zh.consent_data,
            self.consent_source_en or zh.consent_source,
            self.consent_purpose_en or zh.consent_purpose,
        )

    @classmethod
    def from_dbus(cls, row: Mapping[str, Any]) -> Item:
        icon = str(row.get("icon", "generic"))
        return cls(
            code=str(row["code"]),
            name=str(row.get("name", row["code"])),
            department=str(row.get("department", "")),
            conditions=tuple(row.get("conditions", ())),
            materials=tuple(row.get("materials", ())),
            steps=tuple(row.get("steps", ())),
            result_type=str(row.get("result_type", "")),
            a4_pages=int(row.get("a4_pages", 0)),
            receipt=bool(row.get("receipt", False)),
            identity=str(row.get("identity", "card")),
            available=bool(row.get("available", True)),
            category=str(row.get("category", "")),
            summary=str(row.get("summary", "")),
            icon=icon if icon in ICONS else "generic",
            captures=_strings(row, "captures"),
            consent_data=_strings(row, "consent_data"),
            consent_source=str(row.get("consent_source", "")),
            consent_purpose=str(row.get("consent_purpose", "")),
            name_en=str(row.get("name_en", "")),
            department_en=str(row.get("department_en", "")),
            category_en=str(row.get("category_en", "")),
            summary_en=str(row.get("summary_en", "")),
            conditions_en=_strings(row, "conditions_en"),
            materials_en=_strings(row, "materials_en"),
            captures_en=_strings(row, "captures_en"),
            consent_data_en=_strings(row, "consent_data_en"),
            consent_source_en=str(row.get("consent_source_en", "")),
            consent_purpose_en=str(row.get("consent_purpose_en", "")),
        )


def by_department(items: List[Item]) -> List[Tuple[str, List[Item]]]:
    """Departments in the order the catalogue first names them, items in catalogue order."""
    groups: Dict[str, List[Item]] = {}
    for item in items:
        groups.setdefault(item.department, []).append(item)
    return list(groups.items())


@dataclass(frozen=True)
class Session:
    """The session as the last ``SessionChanged`` / ``GetSession`` described it."""

    session_id: str
    item_code: str = ""
    state: str = "running"
    step: str = ""
    step_index: int = 0
    step_count: int = 0
    prompt: str = ""
    choices: Tuple[str, ...] = ()
    seconds_left: float = -1.0
    extendable: bool = False
    progress: float = 0.0
    pages: int = 0
    holder: str = ""
    error_code: str = ""
    message: str = ""
    #: The daemon's count of this session's changes: the higher state is the newer.
    revision: int = 0
    #: ``face`` or ``document`` while a camera picture is shown (``GetCameraFrame``).
    camera: str = ""
    attempt: int = 0
    attempts: int = 0
    material: str = ""
    page: int = 0
    page_count: int = 0
    #: The department's number for the document (业务编号), once the query answered.
    reference: str = ""
    receipt_printed: bool = False
    #: The document's electronic seal was verified, and who sealed it.
    seal_verified: bool = False
    seal_issuer: str = ""
    #: On the final state only: ``timeout``, ``walked_away``, ``cancelled``, ``home``,
    #: ``done``, ``failed`` or ``stopped`` (``ENDED_BY``).
    ended_by: str = ""
    #: On a failure: the short code the citizen reads out to staff (``P01``).
    staff_code: str = ""

    @classmethod
    def from_dbus(cls, state: Mapping[str, Any]) -> Session:
        return cls(
            session_id=str(state["session_id"]),
            revision=int(state.get("revision", 0)),
            item_code=str(state.get("item_code", "")),
            state=str(state.get("state", "running")),
            step=str(state.get("step", "")),
            step_index=int(state.get("step_index", 0)),
            step_count=int(state.get("step_count", 0)),
            prompt=str(state.get("prompt", "")),
            choices=tuple(str(c) for c in state.get("choices", ())),
            seconds_left=float(state.get("seconds_left", -1.0)),
            extendable=bool(state.get("extendable", False)),
            progress=min(1.0, max(0.0, float(state.get("progress", 0.0)))),
            pages=int(state.get("pages", 0)),
            holder=str(state.get("holder", "")),
            error_code=str(state.get("error_code", "")),
            message=str(state.get("message", "")),
            camera=str(state.get("camera", "")),
            attempt=int(state.get("attempt", 0)),
            attempts=int(state.get("attempts", 0)),
            material=str(state.get("material", "")),
            page=int(state.get("page", 0)),
            page_count=int(state.get("page_count", 0)),
            reference=str(state.get("reference", "")),
            receipt_printed=bool(state.get("receipt_printed", False)),
            seal_verified=bool(state.get("seal_verified", False)),
            seal_issuer=str(state.get("seal_issuer", "")),
            ended_by=str(state.get("ended_by", "")),
            staff_code=str(state.get("staff_code", "")),
        )

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def timed(self) -> bool:
        return self.seconds_left >= 0


@dataclass(frozen=True)
class KioskInfo:
    """Who and where the kiosk is (``Kiosk1.GetInfo``): what the home and card screens
    show of the hall and of this kiosk model."""

    kiosk_id: str = ""
    name: str = ""
    region: str = ""
    language: str = "zh_CN"
    version: str = ""
    hall: str = ""
    hall_en: str = ""
    #: One of ``CARD_READER_POSITIONS``, and how to say it in each language.
    card_reader: str = "below_screen"
    card_reader_text: str = ""
    card_reader_text_en: str = ""
    #: ``Kiosk1.GetCardReaderImage`` has a picture of the reader's place.
    has_card_reader_image: bool = False

    @classmethod
    def from_dbus(cls, info: Mapping[str, Any]) -> KioskInfo:
        position = str(info.get("card_reader", "below_screen"))
        return cls(
            kiosk_id=str(info.get("kiosk_id", "")),
            name=str(info.get("name", "")),
            region=str(info.get("region", "")),
            language=str(info.get("language", "zh_CN")),
            version=str(info.get("version", "")),
            hall=str(info.get("hall", "")),
            hall_en=str(info.get("hall_en", "")),
            card_reader=position if position in CARD_READER_POSITIONS else "below_screen",
            card_reader_text=str(info.get("card_reader_text", "")),
            card_reader_text_en=str(info.get("card_reader_text_en", "")),
            has_card_reader_image=bool(info.get("has_card_reader_image", False)),
        )

    def hall_text(self, language: str) -> str:
        """The hall's name in ``language``; the Chinese where there is no English."""
        return (self.hall_en or self.hall) if language == "en" else self.hall

    def card_reader_hint(self, language: str) -> str:
        """Where the card reader is, in ``language``; the Chinese where there is no English."""
        if language == "en":
            return self.card_reader_text_en or self.card_reader_text
        return self.card_reader_text


def screen_for(session: Session) -> str:
    """The screen that shows ``session``; ``home`` once it is over."""
    if session.finished:
        return "home"
    if session.state == "failed":
        return "error"
    if session.state == "done":
        return "done"
    if session.step == "identity" and session.holder:
        return "confirm"  # the card is read: the citizen confirms it is theirs
    return STEP_SCREENS.get(session.step, GENERIC_STEP_SCREEN)


#: Screens that neither warn that time is running out nor offer "more time": a face
#: attempt has its own shorter limit inside the step's (when it runs out the citizen is
#: offered another attempt and loses nothing), and "done" only waits to go home.
NO_TIME_WARNING = ("face", "done")


def warns_of_time(session: Session) -> bool:
    """Whether the screen showing ``session`` warns before its time runs out."""
    return screen_for(session) not in NO_TIME_WARNING


def primary_choice(choices: Tuple[str, ...]) -> str:
    """The choice drawn as the big primary button: the first that does not leave.

    None when every choice leaves: while the kiosk waits for the card, the citizen's
    main action is the card itself, and "cancel" stays a secondary button.
    """
    for choice in choices:
        if choice not in ("cancel", "disagree"):
            return choice
    return ""
