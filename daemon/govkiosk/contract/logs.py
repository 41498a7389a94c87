"""Logging for journald and the console, and the guard that keeps personal data out (§8 d).

Messages read ``<prefix>: <text>``, where the prefix names the device or service
(``idcard@1-2.1: card removed``). Under systemd (``$JOURNAL_STREAM`` set) each line
starts with its syslog priority (``<4>``) so journald records the level.

:class:`PersonalDataFilter` sits on the handler, so no record passes it unchecked: a
record whose text looks like a resident ID number or a mobile phone number, or contains
a term the current citizen session registered (a name, an address), is withheld and
replaced by a notice that says which logger tried. Withholding the whole record, not
masking one match, is deliberate: what sits next to an ID number is usually personal too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from typing import Optional, Set

#: 18-character resident ID (GB 11643): region, birth date, sequence, check character.
RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx](?![0-9A-Za-z])"
)
#: 15-digit first-generation ID numbers, still found on old records.
OLD_RESIDENT_ID = re.compile(
    r"(?<!\d)[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d)"
)
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

#: Characters that steer a terminal or a log reader instead of showing: C0 and C1
#: controls (a newline forges a log line, ESC rewrites the screen), DEL, and the
#: bidirectional overrides that reorder what is shown.
_STEERING = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: In a formatted record: the same, but our own multi-line messages keep their line feeds.
_STEERING_IN_RECORD = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable_lines(text: str) -> str:
    """Our own multi-line text that carries outside values: line feeds kept, the rest of
    the steering characters escaped (a JSON dump, a table)."""
    return _STEERING_IN_RECORD.sub(_escape, text)


def printable(text: str, limit: int = 200) -> str:
    """``text`` from outside (a network message, a device, a file) made safe to show in a
    log line or on a terminal: steering characters escaped (``\\x1b``), cut at ``limit``."""
    shown = _STEERING.sub(_escape, text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


_PATTERNS = (RESIDENT_ID, OLD_RESIDENT_ID, MOBILE)

WITHHELD = "log record withheld: it looked like personal data"

_SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class SensitiveTerms:
    """Strings of the current citizen session that must never reach a log."""

    #: Shorter terms (a one-character surname) would withhold too much to be useful.
    MIN_LENGTH = 2

    def __init__(self) -> None:
        self._terms: Set[str] = set()
        self._lock = threading.Lock()

    def add(self, *terms: str) -> None:
        with self._lock:
            self._terms.update(t for t in terms if len(t.strip()) >= self.MIN_LENGTH)

    def clear(self) -> None:
        with self._lock:
            self._terms.clear()

    def found_in(self, text: str) -> bool:
        with self._lock:
            return any(term in text for term in self._terms)


#: The process-wide registry; the citizen session adds to it and clears it.
sensitive_terms = SensitiveTerms()


def looks_personal(text: str, terms: SensitiveTerms = sensitive_terms) -> bool:
    return any(p.search(text) for p in _PATTERNS) or terms.found_in(text)


class PersonalDataFilter(logging.Filter):
    def __init__(self, terms: SensitiveTerms = sensitive_terms) -> None:
        super().__init__()
        self._terms = terms

    def filter(self, record: logging.LogRecord) -> bool:
        texts = [record.getMessage()]
        if record.exc_info and record.exc_info[1] is not None:
            texts.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            texts.append(record.stack_info)
        if any(looks_personal(t, self._terms) for t in texts):
            record.msg = "%s (from %s)"
            record.args = (WITHHELD, record.name)
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


class PrefixFormatter(logging.Formatter):
    """``<prefix>: message``; the prefix is the logger's name without ``govkiosk.``."""

    def __init__(self, journald: bool) -> None:
        fmt = (
            "%(prefix)s: %(message)s"
            if journald
            else "%(asctime)s %(levelname)s %(prefix)s: %(message)s"
        )
        super().__init__(fmt)
        self._journald = journald

    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        record.prefix = name[len("govkiosk.") :] if name.startswith("govkiosk.") else name
        text = printable_lines(super().format(record))
        if self._journald:
            priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
            text = "\n".join(f"<{priority}>{line}" for line in text.splitlines())
        return text


def setup_logging(level: str, *, stream: Optional[object] = None) -> logging.Handler:
    """Configure the root logger once, from the entry point. Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stdout)  # type: ignore[arg-type]
    handler.setFormatter(PrefixFormatter(journald=bool(os.environ.get("JOURNAL_STREAM"))))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_level(level)
    return handler


def set_level(level: str) -> None:
    logging.getLogger().setLevel(level.upper())
