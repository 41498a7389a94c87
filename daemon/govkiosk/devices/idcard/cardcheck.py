"""The acceptance check's card read (§6.4.2): was a card read whole? Never what it says.

An engineer places a card (their own or a test card); the daemon reads it as for a
citizen, and :func:`judge` answers only whether the read worked, whether every field the
card type must carry is there, and whether the photo decodes. The answer names fields by
their key (``address``), never their content; the identity, its photo and the decoded
image are dropped (the image zeroed) before it returns, as a session's end wipes them (§8 d).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ...bus import Event
from .cardtext import PHOTO_SIZE, Identity

#: Fields a card of any type must fill (those a type has); the rest may be empty
#: (a foreign card's Chinese name, the 2017 card's absent renewals …).
REQUIRED = frozenset(
    {
        "name",
        "gender",
        "birth_date",
        "address",
        "id_number",
        "authority",
        "valid_from",
        "valid_to",
        "english_name",
        "card_number",
        "nationality",
    }
)


@dataclass(frozen=True)
class CardTestWaiting(Event):
    """The acceptance check waits for the engineer's card (for its prompt, and tests)."""

    seconds: float


class Photo(str, enum.Enum):
    DECODED = "decoded"
    UNDECODABLE = "undecodable"
    BLANK = "blank"  #: the photo's bytes are all zero: the card's chip has no photo
    NOT_CHECKED = "not_checked"  #: no decoder here ([face] decoder = "none" or "vendor")


@dataclass(frozen=True)
class CardCheck:
    fields_present: bool
    photo: Photo
    #: for the report: missing field names, why the photo failed
    detail: str

    @property
    def passed(self) -> bool:
        return self.fields_present and self.photo in (Photo.DECODED, Photo.NOT_CHECKED)


#: The card photo's decoder; returns an image (a numpy array) or raises.
Decode = Callable[[bytes], Any]


def judge(identity: Identity, decode: Optional[Decode]) -> CardCheck:
    """Judge one read; blocking when ``decode`` is given (run it off the event loop)."""
    fields = identity.fields()
    missing = sorted(k for k, v in fields.items() if k in REQUIRED and not v.strip())
    photo_bytes = identity.photo
    if len(photo_bytes) != PHOTO_SIZE or not any(photo_bytes):
        photo, why = Photo.BLANK, "the photo is empty"
    elif decode is None:
        photo, why = Photo.NOT_CHECKED, "the photo is not decoded here"
    else:
        try:
            image = decode(photo_bytes)
        except Exception as err:  # noqa: BLE001 - any decoder failure is the answer
            photo, why = Photo.UNDECODABLE, f"the photo does not decode ({type(err).__name__})"
        else:
            ok = getattr(image, "size", 0) > 0
            if hasattr(image, "fill"):
                image.fill(0)  # the holder's face: zeroed, then dropped
            del image
            photo, why = (
                (Photo.DECODED, "photo decoded")
                if ok
                else (
                    Photo.UNDECODABLE,
                    "the photo decodes to nothing",
                )
            )
    del photo_bytes, fields
    parts = ["card read"]  # not even its type: that says something of the holder
    parts.append(f"fields missing: {', '.join(missing)}" if missing else "all fields present")
    parts.append(why)
    return CardCheck(not missing, photo, "; ".join(parts))
