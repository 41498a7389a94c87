"""Keyboard layouts a keyboard-wedge scanner may type in: key code → characters.

A scanner in keyboard mode turns each character into the key presses that produce it
*on the layout it was set to*; we invert that. ``us`` is the factory setting of almost
every scanner sold in China; ``fr`` (AZERTY) covers the scanners set up for French
keyboards, the common alternative layout. Dead keys (``^``, ``¨``) are left out: a
scanner cannot rely on them and they would need the next key to mean anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

from evdev import ecodes


@dataclass(frozen=True)
class Layout:
    name: str
    #: key code → (unshifted, shifted)
    keys: Mapping[int, Tuple[str, str]]
    #: key code → character with AltGr (right Alt)
    altgr: Mapping[int, str]


def _row(codes: str, plain: str, shifted: str) -> Dict[int, Tuple[str, str]]:
    names = codes.split()
    assert len(names) == len(plain) == len(shifted)
    return {ecodes.ecodes["KEY_" + n]: (p, s) for n, p, s in zip(names, plain, shifted)}


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_KEYPAD = _row(
    "KP0 KP1 KP2 KP3 KP4 KP5 KP6 KP7 KP8 KP9 KPDOT KPSLASH KPASTERISK KPMINUS KPPLUS",
    "0123456789./*-+",
    "0123456789./*-+",
)
_SPACE = {ecodes.KEY_SPACE: (" ", " ")}

US = Layout(
    "us",
    {
        **_row(" ".join(_LETTERS), _LETTERS.lower(), _LETTERS),
        **_row("1 2 3 4 5 6 7 8 9 0", "1234567890", "!@#$%^&*()"),
        **_row(
            "MINUS EQUAL LEFTBRACE RIGHTBRACE SEMICOLON APOSTROPHE GRAVE BACKSLASH COMMA DOT SLASH",
            "-=[];'`\\,./",
            '_+{}:"~|<>?',
        ),
        **_KEYPAD,
        **_SPACE,
    },
    {},
)

# AZERTY: A/Q, Z/W and M move; the digit row gives symbols unless shifted.
_AZERTY_LETTERS = "QBCDEFGHIJKL,NOPARSTUVZXYW"
FR = Layout(
    "fr",
    {
        **_row(
            " ".join(c for c in _LETTERS if c != "M"),
            _AZERTY_LETTERS.replace(",", "").lower(),
            _AZERTY_LETTERS.replace(",", ""),
        ),
        **_row("SEMICOLON", "m", "M"),
        **_row("1 2 3 4 5 6 7 8 9 0", "&é\"'(-è_çà", "1234567890"),
        **_row(
            "MINUS EQUAL RIGHTBRACE APOSTROPHE BACKSLASH M COMMA DOT SLASH 102ND",
            ")=$ù*,;:!<",
            "°+£%µ?./§>",
        ),
        **_KEYPAD,
        **_SPACE,
    },
    {
        ecodes.KEY_3: "#",
        ecodes.KEY_4: "{",
        ecodes.KEY_5: "[",
        ecodes.KEY_6: "|",
        ecodes.KEY_8: "\\",
        ecodes.KEY_9: "^",
        ecodes.KEY_0: "@",
        ecodes.KEY_MINUS: "]",
        ecodes.KEY_EQUAL: "}",
    },
)

LAYOUTS = {layout.name: layout for layout in (US, FR)}
