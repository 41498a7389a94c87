"""``[session]``: the citizen session's time limits and where its documents print.

::

    [session]
    identity_timeout = 60.0     # waiting for the ID card
    session_timeout = 600.0     # the whole journey, however many extensions
    walkaway_timeout = 20.0     # after the presence sensor says the citizen left
    cups_queue = "kiosk-a4"
    cups_server = ""            # "" = CUPS's default; a socket path or host[:port]

Citizen-facing limits follow WCAG 2.2.1: "more time" is offered at least
``extend_offer`` (≥ 20) seconds before a step expires.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import matches, seconds, setting


@dataclass(frozen=True)
class SessionSettings:
    # Steps that wait for the citizen ------------------------------------------------
    identity_timeout: float = seconds(60.0)
    consent_timeout: float = seconds(60.0)
    preview_timeout: float = seconds(120.0)
    #: Aiming and reviewing one page under the document camera.
    capture_timeout: float = seconds(90.0)
    #: A failure screen left unanswered ends the session.
    answer_timeout: float = seconds(30.0)
    #: The "done" screen: time to take the papers and, if the citizen wishes, rate (好差评).
    done_timeout: float = seconds(60.0)
    # Steps where the kiosk works --------------------------------------------------
    query_timeout: float = seconds(30.0)
    seal_timeout: float = seconds(10.0)
    print_timeout: float = seconds(120.0)
    receipt_timeout: float = seconds(30.0)
    # The session as a whole -------------------------------------------------------
    session_timeout: float = seconds(600.0)
    walkaway_timeout: float = seconds(20.0)
    #: "More time" adds this much to the step (and the session).
    extend_by: float = seconds(60.0)
    #: "More time" is offered when this little of a step is left (WCAG 2.2.1: ≥ 20 s).
    extend_offer: float = setting(30.0, expect="a number of seconds >= 20", check=lambda v: v >= 20)
    max_extensions: int = setting(
        3, expect="a whole number between 0 and 10", check=lambda v: 0 <= v <= 10
    )
    # Printing ---------------------------------------------------------------------
    cups_queue: str = setting(
        "kiosk-a4", expect="a CUPS queue name", check=matches(r"[A-Za-z0-9_.-]{1,127}")
    )
    #: The CUPS server: "" means CUPS's default; else a socket path or host[:port].
    cups_server: str = ""
    print_poll_interval: float = seconds(0.2)
    #: Demo and development only: write A4 documents into this directory instead of
    #: printing them — it puts citizens' documents on disk (§8 d), never set it on a kiosk.
    demo_output_dir: str = ""
    preview_dpi: int = setting(
        50, expect="a resolution between 20 and 150", check=lambda v: 20 <= v <= 150
    )
    #: The resolution an OFD certificate's pages are rendered at for the A4 printer (the
    #: printer gets a PDF of the rendered pages; a PDF certificate is sent as it is).
    ofd_print_dpi: int = setting(
        300, expect="a resolution between 150 and 600", check=lambda v: 150 <= v <= 600
    )
    #: The receipt's verification QR code: ``{reference}`` is the department's number.
    verify_url: str = setting(
        "https://zwfw.example.gov.cn/verify?ref={reference}",
        expect='a URL containing "{reference}"',
        check=lambda v: "{reference}" in v,
    )
