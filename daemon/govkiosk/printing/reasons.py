"""From CUPS's ``printer-state-reasons`` to the session's and ops' error codes.

IPP reasons carry a severity suffix (RFC 8011 §5.4.12): ``-report`` and ``-warning``
are information, ``-error`` (or no suffix) stops printing. Only the latter count.
"""

from __future__ import annotations

from typing import Iterable, Optional, Tuple

#: Reason prefix → error code, first match wins.
CODES: Tuple[Tuple[str, str], ...] = (
    ("media-empty", "printer.paper_out"),
    ("media-needed", "printer.paper_out"),
    ("media-jam", "printer.jam"),
    ("door-open", "printer.cover_open"),
    ("cover-open", "printer.cover_open"),
    ("toner-empty", "printer.toner_out"),
    ("marker-supply-empty", "printer.toner_out"),
    ("offline", "printer.offline"),
    ("connecting-to-device", "printer.offline"),
    ("timed-out", "printer.offline"),
    ("shutdown", "printer.offline"),
)


def _stops(reason: str) -> bool:
    return not reason.endswith(("-report", "-warning")) and reason not in ("none", "")


def problem_code(reasons: Iterable[str]) -> Optional[str]:
    """The code of the first reason that stops printing, if one is known."""
    for reason in reasons:
        if not _stops(reason):
            continue
        for prefix, code in CODES:
            if reason.startswith(prefix):
                return code
    return None
