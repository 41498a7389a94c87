"""``govkiosk-promo``: the promotion screen's program.

Where its window goes is decided before Kivy starts (Kivy reads its window settings once,
at import), so it comes from the command line or the unit's environment file, not from the
daemon: ``--display :0.1`` (``$GOVKIOSK_PROMO_DISPLAY``) for a second X screen, filled;
``--region X,Y,W,H`` (``$GOVKIOSK_PROMO_REGION``) for a borderless window at that place of
one large screen (two monitors joined by the X server, or a split panel); neither: the
whole of ``$DISPLAY``. The screen takes no input.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import logging
import os
import re
import sys
from typing import List, Optional, Sequence, Tuple

from govkiosk.contract.logs import setup_logging

from .. import fonts
from ..errors import UiError

EXIT_SETUP = 2
REGION = re.compile(r"(-?\d+),(-?\d+),(\d+),(\d+)")
WINDOWED_SIZE = (540, 960)
MAX_FPS = 30
DEFAULT_FADE = 0.6


def region(text: str) -> Tuple[int, int, int, int]:
    match = REGION.fullmatch(text.replace(" ", ""))
    if match is None or int(match.group(3)) == 0 or int(match.group(4)) == 0:
        raise argparse.ArgumentTypeError(f"expected X,Y,WIDTH,HEIGHT in pixels, got {text!r}")
    x, y, w, h = (int(g) for g in match.groups())
    return x, y, w, h


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="govkiosk-promo", description="the govkiosk promotion screen"
    )
    parser.add_argument(
        "--bus",
        default=os.environ.get("GOVKIOSK_BUS", "system"),
        help='D-Bus where the daemon is: "system" (default), "session" or an address',
    )
    parser.add_argument(
        "--display",
        default=os.environ.get("GOVKIOSK_PROMO_DISPLAY") or None,
        help='the X display and screen, e.g. ":0.1"; or set GOVKIOSK_PROMO_DISPLAY',
    )
    parser.add_argument(
        "--region",
        type=region,
        default=os.environ.get("GOVKIOSK_PROMO_REGION") or None,
        metavar="X,Y,W,H",
        help="a borderless window at this place of the screen; or set GOVKIOSK_PROMO_REGION",
    )
    parser.add_argument(
        "--windowed", action="store_true", help="a small normal window (development)"
    )
    parser.add_argument(
        "--fade",
        type=float,
        default=DEFAULT_FADE,
        metavar="SECONDS",
        help=f"a new picture fades in over this long (default {DEFAULT_FADE:g}; 0: at once)",
    )
    parser.add_argument(
        "--font",
        default=os.environ.get("GOVKIOSK_UI_FONT"),
        metavar="PATH",
        help="font file with Chinese glyphs for the notice (default: found on the system)",
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )
    args = parser.parse_args(argv)
    if isinstance(args.region, str):  # from the environment: argparse left it unparsed
        try:
            args.region = region(args.region)
        except argparse.ArgumentTypeError as err:
            parser.error(f"GOVKIOSK_PROMO_REGION: {err}")
    return args


def screen_size() -> Optional[Tuple[int, int]]:
    """The size of ``$DISPLAY``'s screen (libX11), or ``None`` if it cannot be opened.

    SDL's "fullscreen" places the window on the X display's *first* screen whatever
    ``$DISPLAY`` names (and without a window manager does not fill it), while a window at
    a given place goes to ``$DISPLAY``'s screen: so the window is placed, at this size.
    """
    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    for function in (xlib.XDefaultScreen, xlib.XCloseDisplay):
        function.argtypes = [ctypes.c_void_p]
    for function in (xlib.XDisplayWidth, xlib.XDisplayHeight):
        function.argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = xlib.XOpenDisplay(None)
    if not display:
        return None
    try:
        screen = xlib.XDefaultScreen(display)
        return int(xlib.XDisplayWidth(display, screen)), int(xlib.XDisplayHeight(display, screen))
    finally:
        xlib.XCloseDisplay(display)


def prepare(
    display: Optional[str], place: Optional[Tuple[int, int, int, int]], windowed: bool, debug: bool
) -> None:
    """Kivy's settings for this window, before Kivy is imported."""
    if display:
        os.environ["DISPLAY"] = display
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    if not debug:
        logging.getLogger("kivy").addFilter(lambda r: r.levelno >= logging.WARNING)
    from kivy.config import Config  # noqa: PLC0415 - the environment must be set first

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "show_cursor", "1" if windowed else "0")
    # Kivy's loop wakes this often even when nothing changes; a promotion video needs no
    # more (a 50/60 fps one drops every other frame, by its own clock).
    Config.set("graphics", "maxfps", str(MAX_FPS))
    for provider in Config.options("input"):  # a promotion screen is not touched
        Config.remove_option("input", provider)
    if windowed:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "borderless", "0")
        Config.set("graphics", "width", str(WINDOWED_SIZE[0]))
        Config.set("graphics", "height", str(WINDOWED_SIZE[1]))
    else:
        if place is None:
            size = screen_size()
            if size is None:
                raise UiError(f"cannot open the X display {os.environ.get('DISPLAY', '(unset)')}")
            place = (0, 0, size[0], size[1])
        x, y, width, height = place
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "position", "custom")
        Config.set("graphics", "left", str(x))
        Config.set("graphics", "top", str(y))
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        font = fonts.find_cjk_font(args.font)
    except UiError as err:
        print(f"govkiosk-promo: {err}", file=sys.stderr)
        return EXIT_SETUP
    try:
        prepare(args.display, args.region, args.windowed, args.log_level == "debug")
    except UiError as err:
        print(f"govkiosk-promo: {err}", file=sys.stderr)
        return EXIT_SETUP
    fonts.register(font)
    from .app import PromoApp  # noqa: PLC0415 - imports Kivy's window: after prepare()

    app = PromoApp(args.bus, fade=max(0.0, args.fade))
    asyncio.run(app.async_run(async_lib="asyncio"))
    return 1 if app.failed else 0
