"""Kivy's process-wide settings for a kiosk, applied before Kivy opens its window.

Kivy reads its configuration when ``kivy.core.window`` is first imported, so
:func:`prepare` must run before anything imports the app or a widget. Nothing is
written back to ``config.ini``: the kiosk's settings are the program's, not the user's.
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Optional, Tuple

#: The development window; the common kiosk panels are 1280×800 and 1920×1080.
WINDOWED_SIZE: Tuple[int, int] = (1280, 800)

#: Where touches come from. Kivy's Linux defaults read both SDL's mouse (which the X
#: server also synthesises from the panel's touches) and the panel itself through
#: probesysfs: every touch would arrive twice. The kiosk reads exactly one.
INPUTS = {
    # The panel through the kernel's multitouch protocol (needs read access to
    # /dev/input/event*: the kiosk user is in the ``input`` group).
    "touch": ("panel", "probesysfs,provider=mtdev"),
    # The X server's pointer: for panels the kernel does not report as multitouch,
    # or a session without access to /dev/input.
    "mouse": ("mouse", "mouse,multitouch_on_demand"),
}

#: Multisampling (MSAA) with a GPU: Kivy's default, smooth edges on rounded shapes.
GPU_MULTISAMPLES = 2
#: Where a kernel GPU driver offers rendering; without one, Mesa draws on the CPU.
RENDER_NODES = "/dev/dri/renderD*"


def software_rendering() -> bool:
    """Whether OpenGL will be Mesa's software rasteriser (llvmpipe): no GPU render node,
    or software forced (``LIBGL_ALWAYS_SOFTWARE``)."""
    forced = os.environ.get("LIBGL_ALWAYS_SOFTWARE", "") not in ("", "0", "false")
    return forced or not glob.glob(RENDER_NODES)


def default_multisamples() -> int:
    """No multisampling on the CPU: llvmpipe shades every sample, and with Kivy's 2
    samples a 1280×800 frame of home cost ~90 ms of CPU instead of ~33 ms (``bench ui``).
    With a GPU it is nearly free: Kivy's default. Without it rounded corners and circles
    have stepped edges (Kivy's ``Smooth*`` instructions would antialias them cheaply)."""
    return 0 if software_rendering() else GPU_MULTISAMPLES


def prepare(
    *,
    windowed: bool,
    debug: bool = False,
    source: str = "touch",
    multisamples: Optional[int] = None,
) -> None:
    """Kivy's settings; ``multisamples`` None is :func:`default_multisamples`."""
    # No Kivy argument parsing (ours is argparse), no log files in ~/.kivy: the kiosk
    # logs to journald through our handler, which also guards against personal data.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    if not debug:
        # A filter, not a level: importing Kivy sets its logger's level from config.ini.
        logging.getLogger("kivy").addFilter(_warnings_only)

    from kivy.config import Config  # noqa: PLC0415 - the environment must be set first

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("graphics", "allow_screensaver", "0")
    if multisamples is None:
        multisamples = default_multisamples()
    Config.set("graphics", "multisamples", str(multisamples))
    for provider in Config.options("input"):
        Config.remove_option("input", provider)
    # A development window has no panel; right-click must not leave multitouch dots.
    name, provider = INPUTS["mouse" if windowed else source]
    Config.set("input", name, provider)
    if windowed:
        Config.set("graphics", "fullscreen", "0")
        Config.set("graphics", "borderless", "0")
        Config.set("graphics", "show_cursor", "1")
        Config.set("graphics", "width", str(WINDOWED_SIZE[0]))
        Config.set("graphics", "height", str(WINDOWED_SIZE[1]))
    else:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "show_cursor", "0")


def _warnings_only(record: logging.LogRecord) -> bool:
    """Kivy's start-up banner and GL details are noise in the kiosk's journal."""
    return record.levelno >= logging.WARNING
