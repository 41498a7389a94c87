"""``[webapps]``: the kiosk browser and the hardware bridge web-app items use.

::

    [webapps]
    browser = "chromium"      # the kiosk browser's command
    browser_args = []         # more arguments for it
    bridge_port = 0           # 0: a random free port on 127.0.0.1
    max_body = 16000000       # bytes of one bridge request (a base64 PDF)
    rate = 20.0               # calls per second a page may make, on average
    burst = 40                # and at once
    max_print_jobs = 10       # print.pdf + print.receipt calls per session
    browser_host = ""         # "": start the browser here; a socket path: the browser host's
    browser_host_uids = []    # uids allowed to be the browser host (besides the socket's group)
    browser_host_group = "govkiosk-ui"  # the socket's group (who may connect at all)

The bridge binds once, with the first web-app session: a reload changes ``bridge_port`` and
the read limit of ``max_body`` at the next start (a body's declared length is checked
against the setting in force at once); ``browser_host`` and its uids are read at the
daemon's start; the rest applies to the next call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..fields import matches, positive, setting


@dataclass(frozen=True)
class WebAppsSettings:
    #: The kiosk browser's command: a path or a name on PATH (Chromium or the target's own
    #: Chromium-based browser).
    browser: str = setting("chromium", expect="a command name or path", check=bool)
    #: Arguments added to the kiosk browser's own (a window manager's needs, a GPU switch).
    browser_args: Tuple[str, ...] = ()
    #: The bridge's TCP port on 127.0.0.1; 0 picks a free one at random (the page learns it
    #: from its launch URL's fragment).
    bridge_port: int = setting(
        0, expect="a port number from 0 to 65535", check=lambda v: 0 <= v <= 65535
    )
    #: The largest bridge request body, in bytes (a base64 PDF is 4/3 of the PDF); a larger
    #: one is refused with 413 before it is read.
    max_body: int = setting(
        16_000_000,
        expect="a number of bytes from 1024 to 100000000",
        check=lambda v: 1024 <= v <= 100_000_000,
    )
    #: Calls per second a page may make on average (token bucket); more are refused (429).
    rate: float = setting(20.0, expect="a number of calls per second > 0", check=positive)
    #: Calls a page may make at once before the rate applies.
    burst: int = setting(40, expect="a whole number from 1 to 1000", check=lambda v: 1 <= v <= 1000)
    #: Print calls (print.pdf and print.receipt) one web-app session may make; the item's
    #: ``max_pages`` bounds the A4 pages as well.
    max_print_jobs: int = setting(
        10, expect="a whole number from 1 to 100", check=lambda v: 1 <= v <= 100
    )
    #: Where the daemon listens for the browser host (``govkiosk-browser-host``, in the kiosk
    #: user's session; docs/webapps.md §7), e.g. ``/run/govkiosk/browser.sock``; empty: the
    #: daemon starts the browser itself (development, tests, the demo). Read at the start.
    browser_host: str = setting(
        "",
        expect="empty or an absolute socket path",
        check=lambda v: v == "" or (v.startswith("/") and len(v.encode()) < 108),
    )
    #: User ids allowed to connect as the browser host (the kiosk user's); a peer whose
    #: group is the socket's group is allowed as well.
    browser_host_uids: Tuple[int, ...] = setting(
        (), expect="a list of user ids", check=lambda v: all(0 <= u < 2**32 for u in v)
    )
    #: The browser host socket's group (0660): who may connect at all; a peer whose primary
    #: group it is is allowed without being listed. Empty: the daemon's own group.
    browser_host_group: str = setting(
        "govkiosk-ui", expect="empty or a group name", check=matches(r"|[a-z_][a-z0-9_-]{0,31}")
    )
