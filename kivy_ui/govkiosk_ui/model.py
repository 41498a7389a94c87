"""The daemon's answers as plain frozen values, and which screen shows them (no Kivy, no D-Bus).

The session's ``a{sv}`` (docs/session-api.md) arrives already unpacked from its
variants; these functions only read it. Deciding what the citizen may do is the
daemon's business: the UI shows the ``choices`` it is given and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Tuple

from govkiosk.contract.names import CARD_READER_POSITIONS

#: A session in one of these states is over; the daemon has wiped it.
FINISHED = ("cancelled", "expired")

#: Step → screen. A step the UI does not know yet (``face``) gets the generic step screen,
#: which shows the prompt, the progress and the choices: new steps work before they look special.
STEP_SCREENS = {
    "identity": "card",  # until the card is read; then "confirm" (see screen_for)
    "face_verify": "face",
    "consent": "consent",
    "capture_materials": "capture",
    "query": "progress",
    "verify_seal": "progress",
    "preview": "preview",
    "print_a4": "printing",
    "print_receipt": "printing",
    "done": "done",
    # A web-app item: the native strip above the kiosk browser, and the kiosk's own
    # consent screen when the page asks for the card (docs/webapps.md).
    "webapp": "webapp",
    "webapp_consent": "webapp_consent",
}
GENERIC_STEP_SCREEN = "progress"


@dataclass(frozen=True)
class ItemText:
    """What a screen shows of an item, in one language."""

    name: str
    department: str
    summary: str
    conditions: Tuple[str, ...]
    materials: Tuple[str, ...]
    category: str = ""
    #: The paper materials the document camera captures.
    captures: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    """The authorisation notice of an item, in one language (授权告知)."""

    item: str
    source: str
    data: Tuple[str, ...]
    purpose: str


@dataclass(frozen=True)
class Item:
    """One published item (``ListItems``)."""

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
    #: A plain-language line for the tile (开具本人无犯罪记录的证明).
    summary: str = ""
    #: The icon the tile shows (``widgets.icons.SHAPES``).
    icon: str = "generic"
    consent_source: str = ""
    consent_data: Tuple[str, ...] = ()
    consent_purpose: str = ""
    #: English text (the rows' ``*_en`` keys without the suffix); empty: the Chinese.
    english: Mapping[str, Any] = field(default_factory=dict)
    category: str = ""
    captures: Tuple[str, ...] = ()

    def shown(self, language: str) -> ItemText:
        """The item's words in ``language``, each falling back to the Chinese (a list as
        a whole; a capture's name one by one)."""
        en = self.english if language == "en" else {}
        captures_en = tuple(en.get("captures") or ())
        return ItemText(
            name=str(en.get("name") or self.name),
            department=str(en.get("department") or self.department),
            summary=str(en.get("summary") or self.summary),
            conditions=tuple(en.get("conditions") or self.conditions),
            materials=tuple(en.get("materials") or self.materials),
            category=str(en.get("category") or self.category),
            captures=tuple(
                str(captures_en[i]) if i < len(captures_en) and captures_en[i] else name
                for i, name in enumerate(self.captures)
            ),
        )

    def text(self, language: str) -> ItemText:
        """The shown strings for ``language`` (``zh_CN`` or ``en``): :meth:`shown`."""
        return self.shown(language)

    def notice(self, language: str) -> Notice:
        en = self.english if language == "en" else {}
        shown = self.shown(language)
        return Notice(
            item=shown.name,
            source=str(en.get("consent_source") or self.consent_source or shown.department),
            data=tuple(en.get("consent_data") or self.consent_data),
            purpose=str(en.get("consent_purpose") or self.consent_purpose),
        )

    @classmethod
    def from_dbus(cls, row: Mapping[str, Any]) -> Item:
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
            summary=str(row.get("summary", "")),
            icon=str(row.get("icon", "generic")),
            consent_source=str(row.get("consent_source", "")),
            consent_data=tuple(row.get("consent_data", ())),
            consent_purpose=str(row.get("consent_purpose", "")),
            english={
                key[: -len("_en")]: value for key, value in row.items() if key.endswith("_en")
            },
            category=str(row.get("category", "")),
            captures=tuple(str(c) for c in row.get("captures", ())),
        )


def by_department(items: List[Item], language: str) -> List[Tuple[str, List[Item]]]:
    """Departments (named in ``language``) in the order the catalogue first names them,
    items in catalogue order."""
    groups: Dict[str, List[Item]] = {}
    for item in items:
        groups.setdefault(item.shown(language).department, []).append(item)
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
    #: The short code a failure shows for staff (P01), not the daemon's own code.
    staff_code: str = ""
    #: The department's 业务编号 for the document.
    reference: str = ""
    receipt_printed: bool = False
    seal_verified: bool = False
    seal_issuer: str = ""
    #: How a finished session ended (timeout, walked_away, cancelled, home, done, failed,
    #: stopped: ``contract.names.ENDED_BY``).
    ended_by: str = ""
    #: The citizen has given this session's 好差评.
    evaluated: bool = False
    #: The daemon's count of this session's changes: the higher state is the newer.
    revision: int = 0
    #: ``face`` or ``document`` while a camera picture is shown (``GetCameraFrame``).
    camera: str = ""
    attempt: int = 0
    attempts: int = 0
    material: str = ""
    page: int = 0
    page_count: int = 0
    #: A web app's consent screen: the card fields its page asked for.
    consent_fields: Tuple[str, ...] = ()

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
            staff_code=str(state.get("staff_code", "")),
            reference=str(state.get("reference", "")),
            receipt_printed=bool(state.get("receipt_printed", False)),
            seal_verified=bool(state.get("seal_verified", False)),
            seal_issuer=str(state.get("seal_issuer", "")),
            ended_by=str(state.get("ended_by", "")),
            evaluated=bool(state.get("evaluated", False)),
            consent_fields=tuple(str(f) for f in state.get("consent_fields", ())),
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
#: offered another attempt and loses nothing), "done" only waits to go home, and an error
#: (its whole time is the warning's span) would otherwise alarm from its first second.
NO_TIME_WARNING = ("face", "done", "error")


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
