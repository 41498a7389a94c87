"""Short staff codes for the citizen's failure screen: ``P01``, not ``printer.paper_out``.

A citizen who cannot go on is told to ask staff; the screen shows a short code they can
read out, and staff look it up here (docs/session-api.md lists the table). One letter
per family — I identity, F face, C document camera, Q department query, S electronic
seal, V preview, P A4 printer, R receipt printer, W web-app items, K the kiosk's
session — and two
digits. The codes are stable: a code once given keeps its meaning, new codes take the
next number. A code not listed gets its family's ``x00``, and anything else ``K00``,
so a new code in a lower layer still shows something a member of staff can act on.
"""

from __future__ import annotations

from typing import Dict

#: Ops code (``error_code``) → staff code. ``family.*`` is the family's fallback.
STAFF_CODES: Dict[str, str] = {
    # identity
    "identity.*": "I00",
    "identity.unsupported_card": "I01",
    # face verification (人证核验)
    "face.*": "F00",
    "face.not_matched": "F01",
    "face.not_live": "F02",
    "face.no_face": "F03",
    "face.camera_lost": "F04",
    "face.fallback": "F05",
    "face.unavailable": "F06",
    "face.photo_unreadable": "F07",
    "face.engine": "F08",
    "face.timeout": "F09",
    # the document camera (高拍仪)
    "capture.*": "C00",
    "capture.camera_lost": "C01",
    "capture.failed": "C02",
    "capture.unavailable": "C03",
    "capture.timeout": "C04",
    # the department's query
    "backend.*": "Q00",
    "backend.timeout": "Q01",
    "backend.unavailable": "Q02",
    "backend.refused": "Q03",
    "backend.no_route": "Q04",
    "backend.key": "Q05",
    "backend.protocol": "Q06",
    "backend.error": "Q07",
    # the electronic seal (§7.2 a)
    "seal.*": "S00",
    "seal.unsigned": "S01",
    "seal.tampered": "S02",
    "seal.untrusted": "S03",
    "seal.unreadable": "S04",
    "seal.trust": "S05",
    "seal.timeout": "S06",
    "seal.error": "S07",
    "seal.malformed": "S08",
    "seal.expired": "S09",
    "seal.revoked": "S10",
    # the preview
    "preview.*": "V00",
    "preview.failed": "V01",
    # the A4 printer
    "printer.*": "P00",
    "printer.paper_out": "P01",
    "printer.jam": "P02",
    "printer.cover_open": "P03",
    "printer.toner_out": "P04",
    "printer.offline": "P05",
    "printer.unavailable": "P06",
    "printer.not_accepting": "P07",
    "printer.aborted": "P08",
    "printer.cancelled": "P09",
    "printer.stopped": "P10",
    "printer.timeout": "P11",
    "printer.job_lost": "P12",
    "printer.render": "P13",
    # the receipt printer
    "receipt.*": "R00",
    "receipt.unavailable": "R01",
    "receipt.timeout": "R02",
    "receipt.refused": "R03",
    "receipt.failed": "R04",
    # web-app items (docs/webapps.md)
    "webapp.*": "W00",
    "webapp.unavailable": "W01",
    "webapp.browser": "W02",
    "webapp.browser_exited": "W03",
    # the session itself
    "session.*": "K00",
    "session.internal": "K01",
    "session.stopped": "K02",
    "session.ui_gone": "K03",
}

GENERAL = STAFF_CODES["session.*"]


def staff_code(error_code: str) -> str:
    """The staff code of an ops code: its own, else its family's, else ``K00``; empty for
    no error."""
    if not error_code:
        return ""
    return (
        STAFF_CODES.get(error_code)
        or STAFF_CODES.get(error_code.split(".", 1)[0] + ".*")
        or GENERAL
    )
