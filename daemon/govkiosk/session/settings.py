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
    #: Seconds the citizen has to place the ID card on the reader, and again to confirm the name
    #: read from it. An item's own timeout (catalogue) wins.
    identity_timeout: float = seconds(60.0)
    #: Seconds the citizen has to agree to the query of their records (授权).
    consent_timeout: float = seconds(60.0)
    #: Seconds to render the document's preview and then for the citizen to read it and choose to
    #: print. Raise it for long documents.
    preview_timeout: float = seconds(120.0)
    #: Aiming and reviewing one page under the document camera.
    capture_timeout: float = seconds(90.0)
    #: A failure screen left unanswered ends the session.
    answer_timeout: float = seconds(30.0)
    #: The "done" screen: time to take the papers and, if the citizen wishes, rate (好差评).
    done_timeout: float = seconds(60.0)
    # Steps where the kiosk works --------------------------------------------------
    #: Seconds the department platform has to return the document, retries included; then the
    #: citizen is told the service is not answering.
    query_timeout: float = seconds(30.0)
    #: Seconds to verify the document's electronic seal before printing (and the margin added to
    #: `print_timeout` for the printer's own limit).
    seal_timeout: float = seconds(10.0)
    #: Seconds the A4 printer has to print the document (CUPS job completed); then the citizen is
    #: told it failed. Raise it for slow printers or long documents.
    print_timeout: float = seconds(120.0)
    #: Seconds the receipt printer has to print the receipt.
    receipt_timeout: float = seconds(30.0)
    # The session as a whole -------------------------------------------------------
    #: The longest, in seconds, a whole session may last, extensions added; then it ends and the
    #: screen returns home, whatever step it was in.
    session_timeout: float = seconds(600.0)
    #: Seconds after the presence sensor saw the citizen leave before the session is ended (and
    #: personal data dropped), unless someone returns. Without a presence sensor it never fires.
    walkaway_timeout: float = seconds(20.0)
    #: "More time" adds this much to the step (and the session).
    extend_by: float = seconds(60.0)
    #: "More time" is offered when this little of a step is left (WCAG 2.2.1: ≥ 20 s).
    extend_offer: float = setting(30.0, expect="a number of seconds >= 20", check=lambda v: v >= 20)
    #: How many times a session may take "more time"; 0 never offers it.
    max_extensions: int = setting(
        3, expect="a whole number between 0 and 10", check=lambda v: 0 <= v <= 10
    )
    # Printing ---------------------------------------------------------------------
    #: The CUPS queue the A4 printer is installed as (`lpstat -p` lists them).
    cups_queue: str = setting(
        "kiosk-a4", expect="a CUPS queue name", check=matches(r"[A-Za-z0-9_.-]{1,127}")
    )
    #: The CUPS server: "" means CUPS's default; else a socket path or host[:port].
    cups_server: str = ""
    #: Seconds between two questions to CUPS about the A4 job while it prints; the screen's progress
    #: follows it.
    print_poll_interval: float = seconds(0.2)
    #: Demo and development only: write A4 documents into this directory instead of
    #: printing them — it puts citizens' documents on disk (§8 d), never set it on a kiosk.
    demo_output_dir: str = ""
    #: The resolution, in dots per inch, pages are rendered at for the on-screen preview: at 50 an
    #: A4 page is about 410×580 pixels. Higher is sharper but slower to render and uses more memory.
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
