"""Colours and sizes shared by the kv rules.

Sized for a kiosk read standing at ~50 cm: body text ≥ 30 sp and controls ≥ 60 dp meet
the MIIT elderly-friendly numbers by default, not only in a special mode; every text
colour has a contrast of at least 4.5:1 on its background (WCAG 2.2 AA), and colour is
never the only cue (a health dot always comes with words).
"""

from __future__ import annotations

from typing import Tuple

Colour = Tuple[float, float, float, float]


def rgb(hex_code: str) -> Colour:
    value = int(hex_code.lstrip("#"), 16)
    return ((value >> 16) / 255.0, ((value >> 8) & 0xFF) / 255.0, (value & 0xFF) / 255.0, 1.0)


BACKGROUND = rgb("#F3F5F8")
SURFACE = rgb("#FFFFFF")
BORDER = rgb("#D5DBE3")
PRIMARY = rgb("#0B3D7A")  # government blue: 11:1 against white
PRIMARY_DARK = rgb("#082C59")
ON_PRIMARY = rgb("#FFFFFF")
ON_PRIMARY_MUTED = rgb("#C9D6EA")  # 8:1 on PRIMARY_DARK
TEXT = rgb("#1C2430")
TEXT_MUTED = rgb("#4A5565")  # 7:1 on white
OK = rgb("#2EB872")
WARN = rgb("#F2A93B")
ALERT = rgb("#B3261E")  # 6.5:1 on white
ALERT_SOFT = rgb("#FCEDEC")

STATUS_BAR_HEIGHT = 76  # dp
TEXT_STATUS = 24  # sp
TEXT_BODY = 30
TEXT_SUBTITLE = 38
TEXT_TITLE = 64
