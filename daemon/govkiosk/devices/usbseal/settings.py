"""``[devices.usb]``: the port map and how sealing runs (docs/usb-sealing.md)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ...fields import parsed, seconds, setting
from .rules import EMPTY, RuleSet, load_rules

_OPERATOR = re.compile(r"[a-z][a-z0-9_]{0,31}:[0-9a-f]{64}(:[0-9]{4}-[0-9]{2}-[0-9]{2})?")


def _operator(entry: str) -> bool:
    if _OPERATOR.fullmatch(entry) is None:
        return False
    try:
        operator_tokens((entry,))
    except ValueError:
        return False
    return True


def operator_tokens(
    entries: Tuple[str, ...],
) -> Dict[str, Tuple[str, Optional[datetime.date]]]:
    """role → (sha-256 of its token, the day the token was set or ``None``)."""
    tokens: Dict[str, Tuple[str, Optional[datetime.date]]] = {}
    for entry in entries:
        role, digest, *day = entry.split(":")
        tokens[role] = (digest, datetime.date.fromisoformat(day[0]) if day else None)
    return tokens


@dataclass(frozen=True)
class UsbSection:
    #: Seal ports (§8 c). Off only on a developer's desk, never on a kiosk.
    seal: bool = True
    #: The port map: a rules file (absolute path). Without one every USB device is sealed.
    rules: RuleSet = parsed(EMPTY, parse=load_rules)  # noqa: RUF009 - a field() with a parser
    #: Where sysfs is: a test bed's directory in tests.
    sysfs: str = setting(
        "/sys", expect="an absolute path", check=lambda value: value.startswith("/")
    )
    #: Every device is checked again this often, besides on every uevent.
    reconcile_interval: float = seconds(30.0)
    #: Who may open a maintenance window: ``"role:<sha256 of the role's token, hex>"``,
    #: with the day the token was set after a third colon (``…:2026-12-01``) so that it
    #: expires after ``token_max_age_days`` (§8 f); without a day it does not expire.
    operators: Tuple[str, ...] = setting(
        (),
        expect='a list of "role:<sha-256 of the token in hex>[:YYYY-MM-DD]"',
        check=lambda entries: all(_operator(e) for e in entries),
    )
    #: A dated operator token older than this many days is refused (0: never expires).
    token_max_age_days: int = setting(
        90, expect="a whole number of days >= 0", check=lambda v: v >= 0
    )
    #: The longest, in minutes, an operator may open a maintenance window on a USB port (an
    #: engineer's stick on a named port, docs/usb-sealing.md); asking for more is refused. The
    #: window closes by itself at its end, also across restarts.
    maintenance_max_minutes: int = setting(
        60, expect="a whole number of minutes between 1 and 480", check=lambda v: 0 < v <= 480
    )
