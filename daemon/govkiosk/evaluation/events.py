"""The evaluation's event: what was rated, never who rated it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..bus import Event


@dataclass(frozen=True)
class EvaluationGiven(Event):
    """A citizen rated a finished session of ``item_code`` (non-personal)."""

    item_code: str
    level: int
    reasons: Tuple[str, ...]
