"""The Prometheus text exposition format (version 0.0.4), written by hand: it is small.

Label values come from kiosks, so they are hostile: :func:`clean` makes one safe to keep
(no control characters, no lone surrogates, a bounded length) and :func:`escape` writes
it as the format requires (backslash, double quote and line feed escaped). Escaping is
injective: two different values never become the same label.
"""

from __future__ import annotations

import math
import re
from typing import Dict, Iterable, List, Sequence, Tuple, Union

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"  #: the label value every value past a cap is folded into
UNKNOWN = "unknown"  #: for an empty value: Prometheus treats an empty label as no label

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

Labels = Tuple[Tuple[str, str], ...]
Number = Union[int, float]


def clean(raw: object, length: int) -> str:
    """A kiosk's string as a label value: printable, valid UTF-8, at most ``length``."""
    if not isinstance(raw, str):
        raw = str(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else ""
    value = raw[:length]
    value = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    value = _CONTROL.sub("?", value)
    return value or UNKNOWN


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: Number) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class Family:
    """One metric: its name, type, help and samples (labels → value)."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a metric name: {name!r}")
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples: Dict[Labels, Number] = {}

    def set(self, value: Number, **labels: str) -> None:
        self.samples[tuple(sorted(labels.items()))] = value

    def add(self, value: Number, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.samples[key] = self.samples.get(key, 0) + value

    def lines(self) -> List[str]:
        out = [f"# HELP {self.name} {_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for labels in sorted(self.samples):
            out.append(f"{self.name}{_labels(labels)} {number(self.samples[labels])}")
        return out


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels) + "}"


def render(families: Iterable[Family]) -> bytes:
    lines: List[str] = []
    for family in families:
        lines.extend(family.lines())
    return ("\n".join(lines) + "\n").encode("utf-8")


class Folder:
    """Maps values to a bounded set of labels: the first ``cap`` distinct values (or only
    those ``allowed``) keep their own; every other value becomes :data:`OTHER`."""

    def __init__(self, cap: int, length: int, allowed: Sequence[str] = ()) -> None:
        self.cap = cap
        self.length = length
        self.allowed = frozenset(clean(a, length) for a in allowed)
        self.values: Dict[str, None] = {}
        self.folded = 0  #: values turned into OTHER so far

    def __call__(self, raw: object) -> str:
        value = clean(raw, self.length)
        if value in self.values:
            return value
        if (self.allowed and value in self.allowed) or (
            not self.allowed and len(self.values) < self.cap
        ):
            self.values[value] = None
            return value
        self.folded += 1
        return OTHER
