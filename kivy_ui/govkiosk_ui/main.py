"""``govkiosk-ui``: the kiosk's touch UI.

Order matters here: the font is found before Kivy starts (a missing CJK font is an
installation error worth a clear message, not a screen of boxes), and Kivy's settings
are applied before anything imports its window.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from govkiosk.contract.logs import setup_logging

from . import fonts, i18n, window
from .errors import UiError

EXIT_SETUP = 2


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="govkiosk-ui", description="the govkiosk touch UI")
    parser.add_argument(
        "--bus",
        default=os.environ.get("GOVKIOSK_BUS", "system"),
        help='D-Bus where the daemon is: "system" (default), "session" or an address; '
        "or set GOVKIOSK_BUS",
    )
    parser.add_argument(
        "--windowed", action="store_true", help="a normal window with a cursor (development)"
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="write a PNG once the daemon's status is on screen, then keep running",
    )
    parser.add_argument(
        "--input",
        choices=tuple(window.INPUTS),
        default="touch",
        help="where touches come from in kiosk mode: the panel (touch, default) or the "
        "X pointer (mouse); one source only, so no touch is seen twice",
    )
    parser.add_argument("--language", choices=i18n.LANGUAGES, default=i18n.DEFAULT_LANGUAGE)
    parser.add_argument(
        "--font",
        default=os.environ.get("GOVKIOSK_UI_FONT"),
        metavar="PATH",
        help="font file with Chinese glyphs (default: found on the system); "
        "or set GOVKIOSK_UI_FONT",
    )
    parser.add_argument(
        "--multisamples",
        type=int,
        default=_multisamples_from_env(),
        metavar="N",
        help="OpenGL multisampling (smoother edges, more work per frame): 0 without a GPU, "
        f"{window.GPU_MULTISAMPLES} with one, by default; or set GOVKIOSK_UI_MULTISAMPLES",
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )
    return parser.parse_args(argv)


def _multisamples_from_env() -> Optional[int]:
    value = os.environ.get("GOVKIOSK_UI_MULTISAMPLES", "")
    return int(value) if value.isdigit() else None


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        i18n.set_language(args.language)
        font = fonts.find_cjk_font(args.font)
    except UiError as err:
        print(f"govkiosk-ui: {err}", file=sys.stderr)
        return EXIT_SETUP
    window.prepare(
        windowed=args.windowed,
        debug=args.log_level == "debug",
        source=args.input,
        multisamples=args.multisamples,
    )
    fonts.register(font)
    from .app import KioskApp  # noqa: PLC0415 - imports Kivy's window: after prepare()

    app = KioskApp(args.bus, screenshot=args.screenshot)
    asyncio.run(app.async_run(async_lib="asyncio"))
    return 1 if app.failed else app.exit_status
