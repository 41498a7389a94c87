"""Staff codes: every failure code the session can show has its own short code, and no two
codes share one.

The daemon's failure codes are found in its source, not listed by hand: every string
literal of the form ``family.name`` in the packages a session's failures come from, less
the prompt keys and the alarms that never end a step. A new code in a lower layer fails
this test until it has a staff code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Set

from govkiosk.devices.receipt.events import JobOutcome
from govkiosk.printing.reasons import CODES
from govkiosk.session.failures import FAILURES
from govkiosk.session.prompts import PROMPTS
from govkiosk.session.staffcodes import STAFF_CODES, staff_code
from govkiosk.webapps.schema import METHODS

DAEMON = Path(__file__).resolve().parents[1] / "daemon" / "govkiosk"
#: Where a session's failure codes come from.
SOURCES = ("session", "printing", "backends", "security", "faceverify", "docscan", "webapps")
FAMILIES = (
    "identity",
    "face",
    "capture",
    "backend",
    "seal",
    "preview",
    "printer",
    "receipt",
    "webapp",
)
CODE = re.compile(rf"(?:{'|'.join(FAMILIES)}|session)\.[a-z_]+")
#: Literals of that form that are not failure codes: an alarm about recovery, a
#: configuration key named in a message.
NOT_FAILURES = {"printer.recovered", "receipt.recovered", "face.model_dir"}


def literals() -> Set[str]:
    found: Set[str] = set()
    for package in SOURCES:
        for path in (DAEMON / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and CODE.fullmatch(text):
                    found.add(text)
    return found


def emitted() -> Set[str]:
    """Every failure code the daemon can put in a session's ``error_code``."""
    codes = literals() - set(PROMPTS) - NOT_FAILURES - set(METHODS)  # the bridge's methods
    codes |= {code for _reason, code in CODES}
    # printing/receipts.py: ``receipt.<outcome>`` for a job that did not print
    codes |= {f"receipt.{o.value}" for o in JobOutcome if o is not JobOutcome.PRINTED}
    codes |= {code for code in FAILURES if not code.endswith(".*")}
    return codes


def test_every_failure_code_the_daemon_emits_has_its_own_staff_code() -> None:
    codes = emitted()
    assert {"printer.paper_out", "backend.timeout", "seal.untrusted", "face.fallback"} <= codes
    missing = sorted(code for code in codes if code not in STAFF_CODES)
    assert missing == []
    # Face prompts share names with failures (face.no_face): those must be covered too.
    assert {code for code in PROMPTS if code in FAILURES} <= set(STAFF_CODES)


def test_staff_codes_are_unique_short_and_lettered_by_family() -> None:
    shown = list(STAFF_CODES.values())
    assert len(shown) == len(set(shown))
    letters = {}
    for code, short in STAFF_CODES.items():
        assert re.fullmatch(r"[A-Z][0-9]{2}", short), short
        family = code.split(".", 1)[0]
        letters.setdefault(family, set()).add(short[0])
        assert (short.endswith("00")) == code.endswith(".*"), code
    assert all(len(first) == 1 for first in letters.values())  # one letter per family
    assert len({next(iter(first)) for first in letters.values()}) == len(letters)


def test_staff_code_falls_back_to_the_family_then_the_kiosk() -> None:
    assert staff_code("printer.paper_out") == "P01"
    assert staff_code("backend.unavailable") == "Q02"
    assert staff_code("printer.new_condition") == "P00"
    assert staff_code("something.else") == "K00"
    assert staff_code("") == ""
