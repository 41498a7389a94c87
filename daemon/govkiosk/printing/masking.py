"""What of a holder may be shown or printed: masked forms only (§8 d).

The confirm screen and the receipt slip let citizens recognise their own transaction
without exposing it to the next person at the kiosk: an ID number keeps its first and
last four characters (``2301**********1234``), a name its first character (``张**``).
"""

from __future__ import annotations

MASK = "*"
KEEP_ID = 4


def mask_id_number(number: str) -> str:
    """First and last four characters; everything between is ``*``.

    Numbers too short to keep both ends (never a valid card number) are masked whole.
    """
    if len(number) <= 2 * KEEP_ID:
        return MASK * len(number)
    return number[:KEEP_ID] + MASK * (len(number) - 2 * KEEP_ID) + number[-KEEP_ID:]


def mask_name(name: str) -> str:
    """The first character, then ``*`` for each other character (Latin names: per word)."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(mask_name(word) for word in name.split())
    return name[0] + MASK * (len(name) - 1)
