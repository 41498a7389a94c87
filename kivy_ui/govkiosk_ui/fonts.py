"""Finding and registering a font with Chinese glyphs.

Kivy's bundled Roboto has no CJK glyphs: without a CJK font every Chinese label renders
as boxes. The kiosks run on different distributions, each with its own fonts, so the
search goes: an explicit path (``--font`` / ``$GOVKIOSK_UI_FONT``), then well-known
files (Debian, UOS, Kylin), then whatever fontconfig names for Chinese sans-serif text.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .errors import FontNotFoundError

_LOGGER = logging.getLogger(__name__)

#: Best first. Noto's .ttc files open on their Japanese face (index 0), so the
#: Simplified Chinese single-face files and WenQuanYi come before them.
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",  # Kylin, RPM-based layouts
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",  # UOS
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, UOS
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
#: What Kivy's text providers can open.
LOADABLE = (".ttf", ".ttc", ".otf")
FONTCONFIG_TIMEOUT = 5.0


def find_cjk_font(explicit: Optional[str] = None) -> Path:
    """The font file to render Chinese with; :class:`FontNotFoundError` says what to do."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FontNotFoundError(f"font file {explicit} does not exist")
        return path
    for candidate in _candidates():
        if candidate.is_file() and candidate.suffix.lower() in LOADABLE:
            return candidate
    raise FontNotFoundError(
        "no font with Chinese glyphs found (looked in /usr/share/fonts and asked fontconfig); "
        "install fonts-wqy-zenhei or fonts-noto-cjk, or name a font file with --font PATH "
        "or $GOVKIOSK_UI_FONT"
    )


def _candidates() -> Iterator[Path]:
    yield from (Path(p) for p in KNOWN_FONTS)
    # The distribution's own choice for Chinese sans-serif, if it really covers Chinese.
    chinese = set(_fontconfig("fc-list", "--format=%{file}\\n", ":lang=zh"))
    preferred = _fontconfig("fc-match", "--format=%{file}\\n", "sans-serif:lang=zh-cn")
    yield from (Path(p) for p in preferred if p in chinese)
    yield from (Path(p) for p in sorted(chinese))


def _fontconfig(*argv: str) -> Iterable[str]:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=FONTCONFIG_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        _LOGGER.debug("fonts: %s unavailable: %s", argv[0], err)
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def register(path: Path) -> None:
    """Make ``path`` Kivy's default font, so every label, now and later, can show Chinese."""
    from kivy.core.text import DEFAULT_FONT, LabelBase  # noqa: PLC0415 - after Kivy's config

    LabelBase.register(DEFAULT_FONT, str(path))
    _LOGGER.info("fonts: using %s", path)
