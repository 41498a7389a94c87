"""The decision for one device or interface: pure, so it is tested without sysfs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Optional

from .identity import CLASS_HID, UsbIdentity, UsbInterface
from .rules import Rule, RuleSet

DEFAULT_DENY = "default deny"


@dataclass(frozen=True)
class Verdict:
    """Allowed or sealed, the role it plays, and the rule that said so."""

    allowed: bool
    role: str
    rule: Optional[Rule]

    @property
    def reason(self) -> str:
        return self.rule.where if self.rule is not None else DEFAULT_DENY


def decide_device(
    rules: RuleSet, device: UsbIdentity, open_ports: FrozenSet[str] = frozenset()
) -> Verdict:
    rule = rules.first_match(device, open_ports)
    if rule is None or rule.action == "block":
        return Verdict(False, "", rule)
    return Verdict(True, rule.role, rule)


def decide_interface(device: Verdict, interface: UsbInterface) -> Verdict:
    """An interface is kept only if its device is allowed and its role needs it."""
    rule = device.rule
    allowed = device.allowed and rule is not None and rule.keeps(interface)
    return Verdict(allowed, device.role, rule)


def is_badusb(device: Verdict, interface: UsbInterface) -> bool:
    """A HID interface stripped from an allowed device: a keyboard hiding in a printer."""
    return device.allowed and interface.cls == CLASS_HID
