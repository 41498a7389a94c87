"""Colours and sizes shared by the kv rules.

Sized for a kiosk read standing at ~50 cm: the MIIT elderly-friendly numbers hold by
default, not only in a special mode (primary targets ≥ 60 dp, others ≥ 44 dp, body
text ≥ 18 sp, ≥ 30 sp in large-text mode); every text colour has a contrast of at
least 4.5:1 on its background (WCAG 2.2 AA), and colour is never the only cue (every
status mark comes with words). ``tests/test_ui_screens.py`` measures all of it.
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
#: The mark's red (中国红): graphics only, never text.
ACCENT = rgb("#C8161D")
#: The tiles' icon discs, one soft tint behind the blue line drawing.
ICON_DISC = rgb("#E3ECF8")

WARN_TEXT = rgb("#5C3A00")  # on WARN_SOFT: 9:1
WARN_SOFT = rgb("#FFF1D6")
OK_TEXT = rgb("#16613B")  # 7:1 on white
DISABLED = rgb("#8A94A3")
SCRIM = (0.05, 0.09, 0.16, 0.6)
# The camera screens: the picture's frame, the guides over it (a light line on a dark edge
# shows on any picture), the dimming around the face's oval.
CAMERA_BACKDROP = rgb("#1C2430")
GUIDE = rgb("#FFFFFF")
GUIDE_EDGE = (0.0, 0.0, 0.0, 0.6)
PAGE_OUTLINE = rgb("#3DDC84")
CAMERA_SCRIM = (0.05, 0.09, 0.16, 0.5)

# Sizes in dp (widgets) and sp (text). The kiosk meets the elderly-friendly numbers by
# default: primary targets ≥ 60 dp, others ≥ 44 dp, body text ≥ 18 sp; large-text mode
# multiplies text by LARGE_TEXT so body text reaches ≥ 30 sp.
NAV_BAR_HEIGHT = 84
STATUS_BAR_HEIGHT = 52
#: The native strip above the kiosk browser during a web app (its window starts below).
WEBAPP_STRIP_HEIGHT = 88
QUICK_MENU_WIDTH = 168
BANNER_HEIGHT = 56
TARGET_PRIMARY = 76
TARGET_SECONDARY = 60
MIN_PRIMARY = 60
MIN_SECONDARY = 44
MIN_TEXT = 18
MIN_LARGE_TEXT = 30
LINE_HEIGHT = 1.3
LARGE_TEXT = 1.3

TEXT_STATUS = 18
TEXT_SMALL = 20
TEXT_BODY = 24
TEXT_BUTTON = 26
TEXT_SUBTITLE = 30
TEXT_TITLE = 44
TEXT_HERO = 60
