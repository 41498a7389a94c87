"""The card's 256-byte text block: resident cards, residence permits, foreign cards.

Every field is UCS-2 little-endian, padded with spaces, at a fixed offset. The
character at offset 248 tells the layout apart (the card-type marker):

- (blank): 居民身份证, resident ID card → :class:`ResidentIdentity`
- ``J``: 港澳台居民居住证, HK/Macao/Taiwan residence permit → :class:`ResidencePermitIdentity`
- ``I``: 外国人永久居留身份证 (2017), foreign permanent resident → :class:`ForeignResidentIdentity`
- ``Y``: 外国人永久居留身份证 (2023), foreign permanent resident → :class:`ForeignResidentIdentity`

Layouts (offset, bytes), as published in the machine-readable-information rules for
each card and implemented alike by the reader vendors' SDKs:

- resident: name 0/30, gender 30/2, nation 32/4, birth 36/16, address 52/70,
  ID number 122/36, authority 158/30, valid from 188/16, valid to 204/16 (or 长期).
- ``J``: as resident, but 32/4 is reserved (no nation), plus the travel-permit
  number 220/18 and the issue count 238/4.
- ``I`` (2017): English name 0/120, gender 120/2, card number 122/30 (3 letters +
  12 digits), nationality 152/6 (GB/T 2659 alpha-3), Chinese name 158/30, valid
  from 188/16, valid to 204/16, birth 220/16, card version 236/4, accepting
  authority code 240/8.
- ``Y`` (2023): Chinese name 0/30, gender 30/2, renewal count 32/4, birth 36/16,
  English name 52/70 continued at 220/22, card number 122/36 (18 characters, first
  9, ISO 7064 check character), valid from 188/16, valid to 204/16, nationality 242/6.

Parsing validates what the layout promises (dates, check characters, codes) and
raises :class:`CardTextError` naming the field, never its value. Identities never
show their content in ``repr``/``str``, so a stray log line cannot leak it (§8 d).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from .errors import CardTextError, UnknownCardTypeError

TEXT_SIZE = 256
PHOTO_SIZE = 1024
#: 长期: the validity of cards issued to people over 45 never ends.
NO_EXPIRY = "长期"

Slot = Tuple[int, int]  # (offset, bytes)
MARKER_SLOT: Slot = (248, 2)


class CardKind(str, enum.Enum):
    RESIDENT = "resident"
    RESIDENCE_PERMIT = "hk_macao_taiwan_residence_permit"
    FOREIGN_2017 = "foreign_permanent_resident_2017"
    FOREIGN_2023 = "foreign_permanent_resident_2023"


#: The card-type marker at offset 248 (blank on resident cards).
MARKERS: Dict[str, CardKind] = {
    "": CardKind.RESIDENT,
    "J": CardKind.RESIDENCE_PERMIT,
    "I": CardKind.FOREIGN_2017,
    "Y": CardKind.FOREIGN_2023,
}
_MARKER_OF = {kind: marker for marker, kind in MARKERS.items()}


class Gender(enum.Enum):
    """GB/T 2261.1 sex codes."""

    UNKNOWN = "0"
    MALE = "1"
    FEMALE = "2"
    UNSTATED = "9"

    @property
    def label(self) -> str:
        return _GENDER_LABELS[self]


_GENDER_LABELS = {
    Gender.UNKNOWN: "未知的性别",
    Gender.MALE: "男",
    Gender.FEMALE: "女",
    Gender.UNSTATED: "未说明的性别",
}

#: GB/T 3304 in code order: code "01" is 汉族 … "56" is 基诺族.
_NATION_NAMES = [
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
]
NATIONS: Dict[str, str] = {f"{i:02d}": name for i, name in enumerate(_NATION_NAMES, 1)}
NATIONS.update({"97": "其他", "98": "外国血统中国籍人士"})


@dataclass(frozen=True)
class Nation:
    code: str

    @property
    def name(self) -> str:
        return NATIONS[self.code]


# --- ID numbers (GB 11643, ISO 7064 MOD 11-2) -------------------------------------

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS = "10X98765432"
_ID_NUMBER = re.compile(r"\d{17}[\dX]")


def check_character(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are given."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS))
    return _CHECK_CHARACTERS[total % 11]


def valid_id_number(number: str) -> bool:
    return _ID_NUMBER.fullmatch(number) is not None and check_character(number[:17]) == number[17]


def _id_number(value: str, what: str, prefixes: Tuple[str, ...]) -> str:
    if not valid_id_number(value):
        raise CardTextError(f"{what}: not 17 digits and a valid check character")
    if not value.startswith(prefixes):
        raise CardTextError(f"{what}: does not start as this card type requires")
    return value


# --- fields ----------------------------------------------------------------------


def _date(value: str, what: str) -> date:
    if len(value) != 8 or not value.isdigit():
        raise CardTextError(f"{what}: expected a YYYYMMDD date")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CardTextError(f"{what}: not a calendar date") from None


def _expiry(value: str, what: str) -> Optional[date]:
    return None if value == NO_EXPIRY else _date(value, what)


def _gender(value: str) -> Gender:
    try:
        return Gender(value)
    except ValueError:
        raise CardTextError("gender: not a GB/T 2261.1 code") from None


def _nation(value: str) -> Nation:
    if value not in NATIONS:
        raise CardTextError("nation: not a GB/T 3304 code")
    return Nation(value)


def _text(value: str, what: str) -> str:
    if not value:
        raise CardTextError(f"{what}: empty")
    return value


def _pattern(value: str, pattern: str, what: str) -> str:
    if re.fullmatch(pattern, value) is None:
        raise CardTextError(f"{what}: not in the expected format")
    return value


def _yyyymmdd(day: Optional[date]) -> str:
    return NO_EXPIRY if day is None else day.strftime("%Y%m%d")


def _validity(start: date, end: Optional[date]) -> None:
    if end is not None and end < start:
        raise CardTextError("validity: ends before it starts")


def read_slots(block: bytes, layout: Mapping[str, Slot]) -> Dict[str, str]:
    """Each slot of ``layout`` decoded as UCS-2LE, trailing padding (spaces, NULs) stripped."""
    fields = {}
    for name, (offset, size) in layout.items():
        try:
            fields[name] = block[offset : offset + size].decode("utf-16-le").rstrip(" \x00")
        except UnicodeDecodeError:
            raise CardTextError(f"{name}: not UCS-2 text") from None
    return fields


def encode_text_block(kind: CardKind, fields: Mapping[str, str]) -> bytes:
    """A text block of ``kind`` with ``fields`` (names from the kind's layout).

    The inverse of parsing, for the simulator and for tests that build blocks with
    deliberate mistakes: values are written as given, without validation.
    """
    layout = LAYOUTS[kind]
    block = bytearray(" ".encode("utf-16-le") * (TEXT_SIZE // 2))
    for name, value in {**fields, "marker": _MARKER_OF[kind]}.items():
        offset, size = layout[name] if name != "marker" else MARKER_SLOT
        encoded = value.encode("utf-16-le")
        if len(encoded) > size:
            raise ValueError(f"{name}: {len(encoded)} bytes do not fit in {size}")
        block[offset : offset + len(encoded)] = encoded
    return bytes(block)


# --- identities -------------------------------------------------------------------


class Identity:
    """What a card says about its holder. Base of the per-card-type results.

    Personal data (§8 d): kept in memory for the citizen session only; ``repr`` and
    ``str`` name the card type and nothing else.
    """

    photo: bytes  #: 1024 bytes of WLT, opaque; never written anywhere

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<personal data withheld>)"

    __str__ = __repr__

    @property
    def kind(self) -> CardKind:
        raise NotImplementedError

    def fields(self) -> Dict[str, str]:
        """The text-block fields, as the card stores them."""
        raise NotImplementedError

    def to_text_block(self) -> bytes:
        return encode_text_block(self.kind, self.fields())


_RESIDENT_LAYOUT: Dict[str, Slot] = {
    "name": (0, 30),
    "gender": (30, 2),
    "birth_date": (36, 16),
    "address": (52, 70),
    "id_number": (122, 36),
    "authority": (158, 30),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
}


@dataclass(frozen=True, repr=False)
class HolderIdentity(Identity):
    """What resident cards and residence permits share, at the same offsets."""

    name: str
    gender: Gender
    birth_date: date
    address: str
    id_number: str
    authority: str
    valid_from: date
    valid_to: Optional[date]  #: None: 长期, no expiry
    photo: bytes

    @staticmethod
    def parse_common(f: Mapping[str, str], prefixes: Tuple[str, ...]) -> Dict[str, Any]:
        """The shared fields, checked; the ID number must start with one of ``prefixes``."""
        birth = _date(f["birth_date"], "birth date")
        number = _id_number(f["id_number"], "ID number", prefixes)
        if number[6:14] != _yyyymmdd(birth):
            raise CardTextError("ID number: does not carry the card's birth date")
        valid_from = _date(f["valid_from"], "valid from")
        valid_to = _expiry(f["valid_to"], "valid to")
        _validity(valid_from, valid_to)
        return {
            "name": _text(f["name"], "name"),
            "gender": _gender(f["gender"]),
            "birth_date": birth,
            "address": _text(f["address"], "address"),
            "id_number": number,
            "authority": _text(f["authority"], "issuing authority"),
            "valid_from": valid_from,
            "valid_to": valid_to,
        }

    def fields(self) -> Dict[str, str]:
        return {
            "name": self.name,
            "gender": self.gender.value,
            "birth_date": _yyyymmdd(self.birth_date),
            "address": self.address,
            "id_number": self.id_number,
            "authority": self.authority,
            "valid_from": _yyyymmdd(self.valid_from),
            "valid_to": _yyyymmdd(self.valid_to),
        }


@dataclass(frozen=True, repr=False)
class ResidentIdentity(HolderIdentity):
    """居民身份证. ID numbers start with a province code, 1-6."""

    nation: Nation

    @property
    def kind(self) -> CardKind:
        return CardKind.RESIDENT

    @classmethod
    def parse(cls, f: Mapping[str, str], photo: bytes) -> ResidentIdentity:
        common = cls.parse_common(f, tuple("123456"))
        return cls(**common, nation=_nation(f["nation"]), photo=photo)

    def fields(self) -> Dict[str, str]:
        return {**super().fields(), "nation": self.nation.code}


@dataclass(frozen=True, repr=False)
class ResidencePermitIdentity(HolderIdentity):
    """港澳台居民居住证: ID numbers start 81 (Hong Kong), 82 (Macao) or 83 (Taiwan)."""

    pass_number: str  #: the holder's travel-permit number (通行证号码)
    issue_count: int  #: 签发次数

    @property
    def kind(self) -> CardKind:
        return CardKind.RESIDENCE_PERMIT

    @classmethod
    def parse(cls, f: Mapping[str, str], photo: bytes) -> ResidencePermitIdentity:
        return cls(
            **cls.parse_common(f, ("81", "82", "83")),
            pass_number=_pattern(f["pass_number"], r"[A-Z0-9]{8,9}", "travel-permit number"),
            issue_count=int(_pattern(f["issue_count"], r"\d{1,2}", "issue count")),
            photo=photo,
        )

    def fields(self) -> Dict[str, str]:
        return {
            **super().fields(),
            "pass_number": self.pass_number,
            "issue_count": f"{self.issue_count:02d}",
        }


_FOREIGN_2017_LAYOUT: Dict[str, Slot] = {
    "english_name": (0, 120),
    "gender": (120, 2),
    "card_number": (122, 30),
    "nationality": (152, 6),
    "chinese_name": (158, 30),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
    "birth_date": (220, 16),
    "card_version": (236, 4),
    "authority_code": (240, 8),
}
_FOREIGN_2023_LAYOUT: Dict[str, Slot] = {
    "chinese_name": (0, 30),
    "gender": (30, 2),
    "renewals": (32, 4),
    "birth_date": (36, 16),
    "english_name": (52, 70),
    "english_name_more": (220, 22),
    "card_number": (122, 36),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
    "nationality": (242, 6),
}
_ENGLISH_NAME_HEAD = _FOREIGN_2023_LAYOUT["english_name"][1] // 2


def _english_name_2023(f: Mapping[str, str]) -> str:
    """The English name: 35 characters at offset 52, the rest at offset 220."""
    more = f["english_name_more"]
    # A continued head fills its slot: restore the spaces stripping took off its end.
    return f["english_name"].ljust(_ENGLISH_NAME_HEAD) + more if more else f["english_name"]


#: Where each field of each card type sits.
LAYOUTS: Dict[CardKind, Dict[str, Slot]] = {
    CardKind.RESIDENT: {**_RESIDENT_LAYOUT, "nation": (32, 4)},
    CardKind.RESIDENCE_PERMIT: {
        **_RESIDENT_LAYOUT,
        "pass_number": (220, 18),
        "issue_count": (238, 4),
    },
    CardKind.FOREIGN_2017: _FOREIGN_2017_LAYOUT,
    CardKind.FOREIGN_2023: _FOREIGN_2023_LAYOUT,
}


@dataclass(frozen=True, repr=False)
class ForeignResidentIdentity(Identity):
    """外国人永久居留身份证, the 2017 card (marker I) or the 2023 card (marker Y).

    The two versions differ in layout and card number (15 characters: nationality
    letters and digits; from 2023 18 characters, first 9, with an ISO 7064 check
    character); ``version`` tells them apart. Fields one version lacks are empty.
    """

    version: CardKind  #: FOREIGN_2017 or FOREIGN_2023
    english_name: str
    chinese_name: str  #: may be empty
    gender: Gender
    card_number: str
    nationality: str  #: GB/T 2659 alpha-3 code
    birth_date: date
    valid_from: date
    valid_to: Optional[date]
    photo: bytes
    authority_code: str = ""  #: 2017 card only
    card_version: str = ""  #: 2017 card only
    renewals: int = 0  #: 2023 card only

    @property
    def kind(self) -> CardKind:
        return self.version

    @classmethod
    def parse_2017(cls, f: Mapping[str, str], photo: bytes) -> ForeignResidentIdentity:
        return cls._checked(
            version=CardKind.FOREIGN_2017,
            english_name=_text(f["english_name"], "English name"),
            chinese_name=f["chinese_name"],
            gender=_gender(f["gender"]),
            card_number=_pattern(f["card_number"], r"[A-Z]{3}\d{12}", "card number"),
            nationality=_pattern(f["nationality"], r"[A-Z]{3}", "nationality"),
            birth_date=_date(f["birth_date"], "birth date"),
            valid_from=_date(f["valid_from"], "valid from"),
            valid_to=_expiry(f["valid_to"], "valid to"),
            photo=photo,
            authority_code=_pattern(f["authority_code"], r"\d{4}", "authority code"),
            card_version=_pattern(f["card_version"], r"\d{2}", "card version"),
        )

    @classmethod
    def parse_2023(cls, f: Mapping[str, str], photo: bytes) -> ForeignResidentIdentity:
        return cls._checked(
            version=CardKind.FOREIGN_2023,
            english_name=_text(_english_name_2023(f), "English name"),
            chinese_name=f["chinese_name"],
            gender=_gender(f["gender"]),
            card_number=_id_number(f["card_number"], "card number", ("9",)),
            nationality=_pattern(f["nationality"], r"[A-Z]{3}", "nationality"),
            birth_date=_date(f["birth_date"], "birth date"),
            valid_from=_date(f["valid_from"], "valid from"),
            valid_to=_expiry(f["valid_to"], "valid to"),
            photo=photo,
            renewals=int(_pattern(f["renewals"], r"\d{1,2}", "renewal count")),
        )

    @classmethod
    def _checked(cls, **values: object) -> ForeignResidentIdentity:
        identity = cls(**values)  # type: ignore[arg-type]
        _validity(identity.valid_from, identity.valid_to)
        return identity

    def fields(self) -> Dict[str, str]:
        common = {
            "chinese_name": self.chinese_name,
            "gender": self.gender.value,
            "nationality": self.nationality,
            "card_number": self.card_number,
            "birth_date": _yyyymmdd(self.birth_date),
            "valid_from": _yyyymmdd(self.valid_from),
            "valid_to": _yyyymmdd(self.valid_to),
        }
        if self.version is CardKind.FOREIGN_2017:
            return {
                **common,
                "english_name": self.english_name,
                "card_version": self.card_version,
                "authority_code": self.authority_code,
            }
        return {
            **common,
            "english_name": self.english_name[:_ENGLISH_NAME_HEAD],
            "english_name_more": self.english_name[_ENGLISH_NAME_HEAD:],
            "renewals": f"{self.renewals:02d}",
        }


_PARSERS: Dict[CardKind, Callable[[Mapping[str, str], bytes], Identity]] = {
    CardKind.RESIDENT: ResidentIdentity.parse,
    CardKind.RESIDENCE_PERMIT: ResidencePermitIdentity.parse,
    CardKind.FOREIGN_2017: ForeignResidentIdentity.parse_2017,
    CardKind.FOREIGN_2023: ForeignResidentIdentity.parse_2023,
}


def parse_identity(text: bytes, photo: bytes) -> Identity:
    """The identity in a 256-byte text block, typed by its card-type marker."""
    if len(text) != TEXT_SIZE:
        raise CardTextError(f"text block of {len(text)} bytes, expected {TEXT_SIZE}")
    if len(photo) != PHOTO_SIZE:
        raise CardTextError(f"photo of {len(photo)} bytes, expected {PHOTO_SIZE}")
    marker = read_slots(text, {"card-type marker": MARKER_SLOT})["card-type marker"]
    kind = MARKERS.get(marker)
    if kind is None:
        raise UnknownCardTypeError(
            f"unknown card-type marker U+{ord(marker):04X}: not a card this reader knows"
        )
    return _PARSERS[kind](read_slots(text, LAYOUTS[kind]), bytes(photo))
