"""The staged shutdown as a pure state machine: readings and times in, stages out.

§6.1 asks the software side of the UPS to "monitor it and shut down safely". Safely
means in stages, each one a promise to the citizen at the screen::

    NORMAL ──on battery──▶ ON_BATTERY ──grace over, low battery, short runtime, FSD──▶
    DRAINING (no new sessions; a print in progress may finish) ──idle or drain timeout──▶
    OUT_OF_SERVICE (the screen says so) ──final delay──▶ POWERING_OFF

Mains back for ``hysteresis`` seconds, at any stage before POWERING_OFF, returns to
NORMAL: a flickering supply neither flaps the banner nor restarts the grace period,
because the on-battery time counts from the first loss until mains has truly held.

No clock and no I/O here: the caller passes ``now`` and asks :meth:`deadline` when to
call again, so tests drive it through any timeline exactly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import List, Optional

from ..devices.ups.state import UpsState


class Stage(str, enum.Enum):
    NORMAL = "normal"
    ON_BATTERY = "on_battery"  #: the UI shows a banner; service goes on
    DRAINING = "draining"  #: no new citizen sessions; work in progress may finish
    OUT_OF_SERVICE = "out_of_service"  #: the screen shows out-of-service
    POWERING_OFF = "powering_off"  #: the power-off was asked for; no way back

    @property
    def accepting_sessions(self) -> bool:
        """Whether a citizen may start a session in this stage."""
        return self in (Stage.NORMAL, Stage.ON_BATTERY)

    @property
    def in_service(self) -> bool:
        """Whether the kiosk serves at all (else its screen shows out of service)."""
        return self not in (Stage.OUT_OF_SERVICE, Stage.POWERING_OFF)


@dataclass(frozen=True)
class Timing:
    grace: float  #: seconds on battery before draining, if nothing worse happens first
    low_runtime: float  #: drain at once when the runtime estimate falls below this
    hysteresis: float  #: seconds mains must hold before a shutdown is cancelled
    drain_timeout: float  #: longest wait for work in progress
    final_delay: float  #: out-of-service shown this long before power-off


@dataclass(frozen=True)
class Transition:
    stage: Stage
    reason: str


class StagedShutdown:
    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.stage = Stage.NORMAL
        self._battery_since: Optional[float] = None
        self._mains_since: Optional[float] = None
        self._stage_deadline: Optional[float] = None

    def deadline(self) -> Optional[float]:
        """When :meth:`step` must run again even if nothing new is read."""
        times = [self._stage_deadline]
        waiting_out_grace = self._battery_since is not None and self._mains_since is None
        if self.stage is Stage.ON_BATTERY and waiting_out_grace:
            assert self._battery_since is not None
            times.append(self._battery_since + self.timing.grace)
        if self._mains_since is not None and self.stage is not Stage.NORMAL:
            times.append(self._mains_since + self.timing.hysteresis)
        pending = [t for t in times if t is not None]
        return min(pending) if pending else None

    def step(self, now: float, ups: Optional[UpsState], idle: bool) -> List[Transition]:
        """Advance to what ``ups`` (the latest reading) and ``idle`` call for at ``now``."""
        if self.stage is Stage.POWERING_OFF or ups is None:
            return []
        if self._mains_held(now, ups):
            if self.stage is Stage.NORMAL:
                return []
            return [self._enter(Stage.NORMAL, f"mains power back for {self.timing.hysteresis:g} s")]
        moves: List[Transition] = []
        if self.stage is Stage.NORMAL and (ups.on_battery or ups.fsd):
            self._battery_since = now
            moves.append(self._enter(Stage.ON_BATTERY, "mains power lost: running on battery"))
        if self.stage is Stage.ON_BATTERY:
            reason = self._critical(now, ups)
            if reason:
                moves.append(self._enter(Stage.DRAINING, reason, now + self.timing.drain_timeout))
        if self.stage is Stage.DRAINING and (idle or self._due(now)):
            reason = "work in progress finished" if idle else "work in progress did not finish"
            moves.append(self._enter(Stage.OUT_OF_SERVICE, reason, now + self.timing.final_delay))
        if self.stage is Stage.OUT_OF_SERVICE and self._due(now):
            moves.append(self._enter(Stage.POWERING_OFF, "powering off"))
        return moves

    def power_off_failed(self, now: float, why: str) -> Transition:
        """The power-off did not happen: stay out of service and try again later."""
        return self._enter(
            Stage.OUT_OF_SERVICE, f"power-off failed: {why}", now + self.timing.final_delay
        )

    def _mains_held(self, now: float, ups: UpsState) -> bool:
        if ups.stale or ups.fsd or ups.on_battery or not ups.on_line:
            self._mains_since = None
            return False
        if self._mains_since is None:
            self._mains_since = now
        return self.stage is Stage.NORMAL or now - self._mains_since >= self.timing.hysteresis

    def _critical(self, now: float, ups: UpsState) -> str:
        if ups.fsd:
            return "the UPS announced a forced shutdown"
        if not ups.on_battery or self._mains_since is not None:
            return ""  # mains is back, not yet for long enough: wait and see
        if ups.low_battery:
            return "battery low"
        if ups.runtime is not None and ups.runtime < self.timing.low_runtime:
            return f"runtime {ups.runtime:g} s below {self.timing.low_runtime:g} s"
        assert self._battery_since is not None
        if now - self._battery_since >= self.timing.grace:
            return f"on battery for {self.timing.grace:g} s"
        return ""

    def _due(self, now: float) -> bool:
        return self._stage_deadline is not None and now >= self._stage_deadline

    def _enter(self, stage: Stage, reason: str, deadline: Optional[float] = None) -> Transition:
        self.stage = stage
        self._stage_deadline = deadline
        if stage is Stage.NORMAL:
            self._battery_since = None
            self._mains_since = None
        return Transition(stage, reason)
