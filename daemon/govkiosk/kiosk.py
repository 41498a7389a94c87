"""Who this kiosk is: the ``[kiosk]`` section.

The id is fixed for the life of the daemon (it is the CN of the kiosk's ops
certificate and names it in every ops topic and telemetry record): features are handed
it once, as a string. Name, region and language may change on a reload; features that
show them are handed a getter.

The section also says what the citizen's screens show of the place and the model: the
hall's name (``hall``) and where the ID card reader is on this kiosk model
(``card_reader``, one of :data:`CARD_READERS`, with an optional picture the integrator
supplies, ``card_reader_image``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Literal, Tuple

from .fields import matches, parsed, required, setting

#: Where the ID card reader is → how the card screen says it (zh_CN, en).
CARD_READERS: Dict[str, Tuple[str, str]] = {
    "below_screen": (
        "身份证读卡区在屏幕下方的台面上",
        "The ID card reader is on the counter below the screen",
    ),
    "right": ("身份证读卡区在屏幕右侧", "The ID card reader is to the right of the screen"),
    "left": ("身份证读卡区在屏幕左侧", "The ID card reader is to the left of the screen"),
    "centre": ("身份证读卡区在台面中央", "The ID card reader is in the middle of the counter"),
    "right_panel": (
        "身份证读卡区在机身右侧面板上",
        "The ID card reader is on the right-hand side of the kiosk",
    ),
    "left_panel": (
        "身份证读卡区在机身左侧面板上",
        "The ID card reader is on the left-hand side of the kiosk",
    ),
}
CardReader = Literal["below_screen", "right", "left", "centre", "right_panel", "left_panel"]

#: The card reader's picture: a PNG no larger than this.
IMAGE_MAX_BYTES = 2 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_file(value: Any) -> str:
    """``card_reader_image``: empty (none), or the absolute path of a readable PNG of at
    most :data:`IMAGE_MAX_BYTES`. Blocking: read with the configuration."""
    if not isinstance(value, str) or (value and not Path(value).is_absolute()):
        raise ValueError(f'expected the absolute path of a PNG file or "", got {value!r}')
    if value == "":
        return value
    path = Path(value)
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            magic = file.read(len(PNG_MAGIC))
    except OSError as err:
        raise ValueError(f"{value} cannot be read: {err.strerror}") from err
    if not path.is_file():
        raise ValueError(f"{value} is not a file")
    if magic != PNG_MAGIC:
        raise ValueError(f"{value} is not a PNG image")
    if size > IMAGE_MAX_BYTES:
        raise ValueError(f"{value} is {size} bytes; at most {IMAGE_MAX_BYTES} are allowed")
    return value


def _line(value: str) -> bool:
    return "\n" not in value and len(value) <= 64


@dataclass(frozen=True)
class KioskSection:
    """Who this kiosk is. ``id`` is also the CN of its ops certificate."""

    #: This kiosk's identity: the CN of its ops certificate, the kiosk number printed on receipts,
    #: the MQTT topics ops address it by and, unless [backends] key_id says otherwise, the key id
    #: department platforms know it by. Set once at installation; a new id needs a new ops
    #: certificate.
    id: str = required(
        expect="a kiosk id of 1-64 lower-case letters, digits or '-'",
        check=matches(r"[a-z0-9][a-z0-9-]{0,63}"),
    )
    #: The kiosk's name, shown to operators (govkioskctl status, ops telemetry).
    name: str = "政务服务一体机"
    #: The administrative division code (GB/T 2260) of the place the kiosk stands, such as 230100
    #: for Harbin. It picks the department platform ([[backends.routes]] region is matched against
    #: its prefix) and decides what is cross-province (跨省通办): an applicant whose ID card is from
    #: another province is served by that province's platform when the item allows it. Shown to ops
    #: (status, telemetry).
    region: str = setting(
        "230000", expect="a six-digit administrative division code", check=matches(r"\d{6}")
    )
    #: The language the citizen's screens start in (they may switch).
    language: Literal["zh_CN", "en"] = "zh_CN"
    #: The hall the kiosk stands in (哈尔滨市政务服务中心), shown on the home screen;
    #: empty: none shown. ``hall_en``: its English name, empty: the Chinese.
    hall: str = setting("", expect="the hall's name on one line (<= 64 characters)", check=_line)
    #: The hall's name shown on the home screen while the citizen uses English; empty: the Chinese
    #: `hall` is shown in English too.
    hall_en: str = setting(
        "", expect="the hall's English name on one line (<= 64 characters)", check=_line
    )
    #: Where the ID card reader is on this kiosk model (:data:`CARD_READERS`).
    card_reader: CardReader = "below_screen"
    #: A picture of the card reader's place the integrator supplies (PNG); empty: none.
    card_reader_image: str = parsed("", parse=png_file)

    def card_reader_text(self, language: str) -> str:
        """How the card screen says where the reader is, in ``language``."""
        zh, en = CARD_READERS[self.card_reader]
        return en if language == "en" else zh
