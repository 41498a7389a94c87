"""The port map: a line-based rules file saying which device may do what on which port.

One rule a line, first match wins, anything unmatched is sealed (§8 c)::

    # action  role           attributes
    allow   receipt_printer  via-port 1-2.1 id 0416:5011 with-interface 07:*:*
    allow   idcard  via-port 1-3 id 1a86:7523 serial "A1B2" with-interface { ff:*:* 02:*:* }
    allow   hub     via-port 1-2 with-interface 09:*:*
    maintenance engineer_storage via-port 1-4 with-interface 08:*:*
    block   id 0781:*

``allow`` and ``maintenance`` name a role and need ``via-port`` and ``with-interface``:
a role belongs to a physical port (VID:PID alone is ambiguous: one CH340 bridge may be a
UPS cable or a card reader), and ``with-interface`` lists the interfaces the role may
use — any other interface of the device is de-authorised. ``maintenance`` rules apply
only while a maintenance window is open on their port. ``block`` matches by the other
attributes and seals. The full description is in docs/usb-sealing.md.

Errors name the file, the line and the reason; all of them are reported together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from ...errors import GovkioskError
from .identity import UsbIdentity, UsbInterface

ACTIONS = ("allow", "maintenance", "block")
ATTRIBUTES = ("via-port", "id", "serial", "with-interface")

_ROLE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_PORT = re.compile(r"[0-9]+-[0-9]+(\.[0-9]+)*")
_ID = re.compile(r"([0-9a-f]{4}|\*):([0-9a-f]{4}|\*)")
_IFACE = re.compile(r"([0-9a-f]{2}|\*):([0-9a-f]{2}|\*):([0-9a-f]{2}|\*)")
_TOKEN = re.compile(r'\s*(?:(#.*)|"((?:[^"\\]|\\.)*)"|(\{|\})|([^\s"{}#]+))')


class RuleError(GovkioskError):
    """The rules file cannot be used; ``problems`` are ``(line, reason)`` pairs."""

    def __init__(self, source: str, problems: Iterable[Tuple[int, str]]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}:{line}: {reason}" for line, reason in self.problems))


class _LineError(Exception):
    """One line's problem, turned into a :class:`RuleError` entry by the parser."""


@dataclass(frozen=True)
class InterfacePattern:
    """``cc:ss:pp`` with ``*`` for any; ``None`` fields match anything."""

    cls: Optional[int]
    subclass: Optional[int]
    protocol: Optional[int]

    def matches(self, interface: UsbInterface) -> bool:
        return all(
            want is None or want == have
            for want, have in (
                (self.cls, interface.cls),
                (self.subclass, interface.subclass),
                (self.protocol, interface.protocol),
            )
        )


@dataclass(frozen=True)
class IdPattern:
    vendor: Optional[str]
    product: Optional[str]

    def matches(self, device: UsbIdentity) -> bool:
        return self.vendor in (None, device.vendor) and self.product in (None, device.product)


@dataclass(frozen=True)
class Rule:
    source: str
    line: int
    action: str
    role: str
    ports: FrozenSet[str]
    ids: Tuple[IdPattern, ...]
    serials: FrozenSet[str]
    interfaces: Tuple[InterfacePattern, ...]

    @property
    def where(self) -> str:
        """``usb.rules:12``: how audit records and alarms name the rule."""
        return f"{Path(self.source).name}:{self.line}"

    def matches(self, device: UsbIdentity) -> bool:
        return (
            (not self.ports or device.port in self.ports)
            and (not self.ids or any(p.matches(device) for p in self.ids))
            and (not self.serials or device.serial in self.serials)
        )

    def keeps(self, interface: UsbInterface) -> bool:
        """May the role use this interface of its device?"""
        return any(p.matches(interface) for p in self.interfaces)


@dataclass(frozen=True)
class RuleSet:
    source: str
    rules: Tuple[Rule, ...]

    def first_match(self, device: UsbIdentity, open_ports: FrozenSet[str]) -> Optional[Rule]:
        """The first rule that applies; ``maintenance`` rules only on ``open_ports``."""
        for rule in self.rules:
            if rule.action == "maintenance" and device.port not in open_ports:
                continue
            if rule.matches(device):
                return rule
        return None

    def maintenance_ports(self) -> FrozenSet[str]:
        return frozenset(p for r in self.rules if r.action == "maintenance" for p in r.ports)


EMPTY = RuleSet("(no rules file)", ())


def load_rules(path: object) -> RuleSet:
    """Read and parse a rules file; raise ``ValueError`` naming lines and reasons.

    This is the configuration's ``parse`` hook for ``devices.usb.rules``.
    """
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"expected the path of a USB rules file, got {path!r}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot be read: {err}") from err
    try:
        return parse_rules(text, path)
    except RuleError as err:
        raise ValueError(str(err)) from err


def parse_rules(text: str, source: str = "usb.rules") -> RuleSet:
    rules: List[Rule] = []
    problems: List[Tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            tokens = _tokens(line)
            if tokens:
                rules.append(_rule(tokens, source, number))
        except _LineError as err:
            problems.append((number, str(err)))
    if problems:
        raise RuleError(source, problems)
    return RuleSet(source, tuple(rules))


def _tokens(line: str) -> List[str]:
    tokens: List[str] = []
    pos = 0
    while pos < len(line):
        if not line[pos:].strip():
            break
        match = _TOKEN.match(line, pos)
        if match is None:
            raise _LineError(f"unterminated quoted string at column {pos + 1}")
        comment, quoted, brace, word = match.groups()
        if comment is not None:
            break
        if quoted is not None:
            tokens.append('"' + re.sub(r"\\(.)", r"\1", quoted))
        else:
            tokens.append(brace or word)
        pos = match.end()
    return tokens


def _rule(tokens: List[str], source: str, line: int) -> Rule:
    action = tokens[0]
    if action not in ACTIONS:
        raise _LineError(f"unknown action {action!r} (expected {', '.join(ACTIONS)})")
    rest = tokens[1:]
    role = ""
    if action != "block":
        if not rest or not _ROLE.fullmatch(rest[0]):
            shown = repr(rest[0]) if rest else "nothing"
            raise _LineError(f"{action}: expected a role name such as receipt_printer, got {shown}")
        role, rest = rest[0], rest[1:]
    values = _attributes(rest)
    if action != "block":
        for needed in ("via-port", "with-interface"):
            if needed not in values:
                raise _LineError(f"{action} {role}: needs {needed}")
    elif "with-interface" in values:
        raise _LineError("block: with-interface belongs to allow and maintenance rules")
    return Rule(
        source=source,
        line=line,
        action=action,
        role=role,
        ports=frozenset(_each(values, "via-port", _PORT, "a port such as 1-2.1")),
        ids=tuple(IdPattern(*_wild(v)) for v in _each(values, "id", _ID, "vvvv:pppp")),
        serials=frozenset(values.get("serial", ())),
        interfaces=tuple(
            InterfacePattern(*(None if p is None else int(p, 16) for p in _wild(v)))
            for v in _each(values, "with-interface", _IFACE, "cc:ss:pp")
        ),
    )


def _attributes(tokens: List[str]) -> Dict[str, List[str]]:
    values: Dict[str, List[str]] = {}
    pos = 0
    while pos < len(tokens):
        name = tokens[pos]
        if name not in ATTRIBUTES:
            raise _LineError(f"unknown attribute {name!r} (known: {', '.join(ATTRIBUTES)})")
        if name in values:
            raise _LineError(f"{name} given twice (list several values in {{ }})")
        pos += 1
        if pos >= len(tokens) or tokens[pos] == "}":
            raise _LineError(f"{name}: missing value")
        if tokens[pos] == "{":
            end = tokens.index("}", pos) if "}" in tokens[pos:] else -1
            if end < 0:
                raise _LineError(f"{name}: '{{' without '}}'")
            items = tokens[pos + 1 : end]
            if not items or "{" in items:
                raise _LineError(f"{name}: expected values between {{ and }}")
            pos = end + 1
        else:
            items = [tokens[pos]]
            pos += 1
        values[name] = [_unquote(name, item) for item in items]
    return values


def _unquote(name: str, token: str) -> str:
    if token.startswith('"'):
        if name != "serial":
            raise _LineError(f"{name}: quoted values are for serial only")
        return token[1:]
    return token if name == "serial" else token.lower()


def _each(
    values: Dict[str, List[str]], name: str, pattern: re.Pattern[str], shape: str
) -> List[str]:
    items = values.get(name, [])
    for item in items:
        if not pattern.fullmatch(item):
            raise _LineError(f"{name}: expected {shape}, got {item!r}")
    return items


def _wild(value: str) -> List[Optional[str]]:
    return [None if part == "*" else part for part in value.split(":")]
