"""``[devices.usb]``: the port map and how sealing runs (docs/usb-sealing.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Tuple

from ...fields import parsed, seconds, setting
from .rules import EMPTY, RuleSet, load_rules

_OPERATOR = re.compile(r"[a-z][a-z0-9_]{0,31}:[0-9a-f]{64}")


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
    #: Who may open a maintenance window: ``"role:<sha256 of the role's token, hex>"``.
    operators: Tuple[str, ...] = setting(
        (),
        expect='a list of "role:<sha-256 of the token in hex>"',
        check=lambda entries: all(_OPERATOR.fullmatch(e) for e in entries),
    )
    maintenance_max_minutes: int = setting(
        60, expect="a whole number of minutes between 1 and 480", check=lambda v: 0 < v <= 480
    )
