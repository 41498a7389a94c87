"""The UPS battery self-test's outcome, whichever protocol ran it (pure, no I/O).

NUT: the ``test.battery.start.quick`` instant command, then ``ups.test.result`` (free
text; drivers write ``Done and passed``, ``Done and warning``, ``Done and error``,
``Aborted``, ``In progress``, ``No test initiated`` …). Megatec/Q1: ``T`` (a 10-second
test), then the Q1 status bits: b2 (test running) on then off, and afterwards neither
b4 (UPS failed) nor b6 (battery low).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from ...bus import Event
from .megatec import Q1Status

#: The NUT instant command of a short battery test.
QUICK_TEST = "test.battery.start.quick"
TEST_RESULT = "ups.test.result"


class Outcome(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    #: the test was asked for, but the UPS never said how it went
    UNKNOWN = "unknown"
    #: the test could not be run (not supported, no permission, no answer): ``text`` says why
    ERROR = "error"


@dataclass(frozen=True)
class SelfTestResult:
    outcome: Outcome
    #: what the UPS said, in its words (``ups.test.result``) or the bits read
    text: str


def nut_outcome(text: str) -> Optional[Outcome]:
    """The outcome ``ups.test.result`` reports; None while the test runs or before one.

    Passed and warning pass (a warning is not a failed battery); error, aborted and
    failed fail. Any other text is not an outcome yet."""
    words = text.strip().lower()
    if words.startswith("in progress") or words in ("", "no test initiated", "unknown"):
        return None
    if words.startswith("done and passed") or words.startswith("done and warning"):
        return Outcome.PASSED
    if words.startswith(("done and error", "aborted", "failed", "done and fail")):
        return Outcome.FAILED
    if "pass" in words:
        return Outcome.PASSED
    if "fail" in words or "error" in words:
        return Outcome.FAILED
    return None


def megatec_outcome(after: Q1Status) -> SelfTestResult:
    """The outcome of a ``T`` test from the first Q1 reply once bit 2 went off again."""
    volts = "" if after.battery_voltage is None else f"battery {after.battery_voltage:g} V, "
    load = "" if after.load is None else f"load {after.load:g} %, "
    bits = f"status bits {after.bits:08b}"
    if after.bit(4):
        return SelfTestResult(Outcome.FAILED, f"the UPS reports a fault after the test; {bits}")
    if after.battery_low:
        return SelfTestResult(
            Outcome.FAILED, f"battery low after the test ({volts}{bits}): replace the battery"
        )
    return SelfTestResult(Outcome.PASSED, f"10-second battery test done: {volts}{load}{bits}")


@dataclass(frozen=True)
class UpsSelfTestRun(Event):
    """Run the battery self-test on ``device_id`` and report it as :class:`UpsSelfTestDone`."""

    device_id: str
    run_id: str


@dataclass(frozen=True)
class UpsSelfTestDone(Event):
    device_id: str
    run_id: str
    outcome: str  #: an :class:`Outcome` value
    text: str
