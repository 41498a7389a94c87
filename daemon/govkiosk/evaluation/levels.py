"""The national 好差评 scale and the kiosk's fixed list of reasons for a bad rating.

Pure: no I/O. :func:`check` validates what the UI sends with ``Session1.Evaluate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..session.errors import InvalidEvaluationError


@dataclass(frozen=True)
class Label:
    code: str
    zh_CN: str
    en: str

    def text(self, language: str) -> str:
        return self.en if language == "en" else self.zh_CN


#: The five levels, best first: 非常满意 (5) … 非常不满意 (1).
LEVELS: Dict[int, Label] = {
    5: Label("very_satisfied", "非常满意", "Very satisfied"),
    4: Label("satisfied", "满意", "Satisfied"),
    3: Label("basically_satisfied", "基本满意", "Basically satisfied"),
    2: Label("dissatisfied", "不满意", "Dissatisfied"),
    1: Label("very_dissatisfied", "非常不满意", "Very dissatisfied"),
}
#: Levels at which the citizen may say why (差评).
BAD_LEVELS = frozenset({1, 2})

#: Why a citizen was dissatisfied, modelled on the national 差评 categories as they
#: apply to a self-service kiosk; in the order the UI shows them.
REASONS: Tuple[Label, ...] = (
    Label("guide_unclear", "办事指南不清楚", "The service guide was unclear"),
    Label("too_many_steps", "操作步骤繁琐", "Too many steps"),
    Label("screen_hard", "界面不易操作", "The screen was hard to use"),
    Label("too_slow", "等待时间长", "Waited too long"),
    Label("device_fault", "设备故障", "The machine did not work properly"),
    Label("print_quality", "打印质量差", "Poor print quality"),
    Label("result_wrong", "办理结果有误", "The result was wrong"),
    Label("other", "其他", "Other"),
)
REASON_CODES: Tuple[str, ...] = tuple(r.code for r in REASONS)
#: An evaluation names each reason at most once: no more than there are.
MAX_REASONS = len(REASONS)
LANGUAGES = ("zh_CN", "en")


def reasons(language: str) -> List[Tuple[str, str]]:
    """(code, label) of every reason, in display order."""
    if language not in LANGUAGES:
        raise InvalidEvaluationError(f"language must be one of {', '.join(LANGUAGES)}")
    return [(r.code, r.text(language)) for r in REASONS]


def check(level: int, chosen: Sequence[str]) -> Tuple[str, ...]:
    """The reasons of a valid evaluation, once each in display order; else
    :class:`InvalidEvaluationError` saying what is wrong."""
    if level not in LEVELS:
        raise InvalidEvaluationError("level must be 1 (非常不满意) to 5 (非常满意)")
    if not chosen:
        return ()
    if level not in BAD_LEVELS:
        raise InvalidEvaluationError("reasons are given only with level 1 or 2")
    if len(chosen) > MAX_REASONS:
        raise InvalidEvaluationError(f"at most {MAX_REASONS} reasons")
    unknown = [code for code in chosen if code not in REASON_CODES]
    if unknown:
        # The caller's strings are not echoed: only how many were not understood.
        raise InvalidEvaluationError(
            f"{len(unknown)} unknown reason code(s); the codes are {', '.join(REASON_CODES)}"
        )
    given = set(chosen)
    return tuple(code for code in REASON_CODES if code in given)
