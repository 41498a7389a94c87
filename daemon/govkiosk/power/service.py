"""The staged shutdown at work: reads UPS events, publishes stages, powers off.

:class:`ShutdownService` feeds :class:`~.policy.StagedShutdown` with the latest UPS
reading, the activity gate and the time, then acts on each transition: a
:class:`ShutdownStageChanged` event (the UI's banner, its refusal of new sessions and
its out-of-service screen all follow it), an :class:`~govkiosk.bus.Alarm` for ops, and
at the end the power-off — or, with ``dry_run``, a log line and
:class:`PowerOffRequested` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

from ..activity import Activity
from ..bus import Alarm, Event, EventBus, Severity
from ..devices.ups.settings import UpsSettings
from ..devices.ups.state import UpsState, UpsStateChanged
from ..supervisor import Service
from ..timeouts import wait_for
from .logind import PowerOffError
from .policy import Stage, StagedShutdown, Timing, Transition

_LOGGER = logging.getLogger(__name__)

SOURCE = "power"
PowerOff = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class ShutdownStageChanged(Event):
    """The kiosk moved to ``stage`` (a :class:`~.policy.Stage` value) because of ``reason``."""

    stage: str
    reason: str

    @property
    def accepting_sessions(self) -> bool:
        return Stage(self.stage).accepting_sessions


@dataclass(frozen=True)
class PowerOffRequested(Event):
    """The power-off is being asked of logind (or only logged, when ``dry_run``)."""

    dry_run: bool


_ALARMS: Dict[Stage, Tuple[str, Severity]] = {
    Stage.NORMAL: ("mains_restored", Severity.INFO),
    Stage.ON_BATTERY: ("on_battery", Severity.WARNING),
    Stage.DRAINING: ("shutdown_pending", Severity.CRITICAL),
    Stage.OUT_OF_SERVICE: ("out_of_service", Severity.CRITICAL),
    Stage.POWERING_OFF: ("powering_off", Severity.CRITICAL),
}


def timing(settings: UpsSettings) -> Timing:
    return Timing(
        grace=settings.grace_period,
        low_runtime=settings.low_runtime,
        hysteresis=settings.mains_hysteresis,
        drain_timeout=settings.drain_timeout,
        final_delay=settings.final_delay,
    )


class ShutdownService(Service):
    name = "power"

    def __init__(
        self,
        bus: EventBus,
        activity: Activity,
        settings: UpsSettings,
        power_off: PowerOff,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._activity = activity
        self._settings = settings
        self._power_off = power_off
        self._clock = clock
        self.policy = StagedShutdown(timing(settings))
        self._latest: Optional[UpsState] = None
        self._wake = asyncio.Event()
        self._unsubscribers: List[Callable[[], None]] = []

    @property
    def stage(self) -> Stage:
        return self.policy.stage

    async def start(self) -> None:
        self._unsubscribers = [
            self._bus.subscribe(UpsStateChanged, self._on_ups),
            self._activity.add_listener(self._wake.set),
        ]

    async def serve(self) -> None:
        while True:
            self._wake.clear()
            for move in self.policy.step(self._clock(), self._latest, self._activity.idle):
                self._announce(move)
            if self.policy.stage is Stage.POWERING_OFF:
                await self._finish()
                continue
            deadline = self.policy.deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            with contextlib.suppress(asyncio.TimeoutError):
                await wait_for(self._wake.wait(), timeout)

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers = []

    def _on_ups(self, event: UpsStateChanged) -> None:
        self._latest = event.state
        self._wake.set()

    async def _finish(self) -> None:
        """Power off; if that fails, stay out of service and retry after the final delay."""
        dry_run = self._settings.dry_run
        self._bus.publish(PowerOffRequested(dry_run))
        if dry_run:
            _LOGGER.warning("power: dry run: would power off now (logind PowerOff)")
            await asyncio.Event().wait()  # the end: nothing more happens
        try:
            await self._power_off()
        except PowerOffError as err:
            # Expected, and said in full; the policy retries after the final delay.
            _LOGGER.error("%s", err)  # noqa: TRY400
            self._announce(
                self.policy.power_off_failed(self._clock(), str(err)), "power_off_failed"
            )
            return
        await asyncio.Event().wait()  # logind is stopping us

    def _announce(self, move: Transition, code: Optional[str] = None) -> None:
        _LOGGER.warning("power: %s (%s)", move.stage.value, move.reason)
        self._bus.publish(ShutdownStageChanged(move.stage.value, move.reason))
        stage_code, severity = _ALARMS[move.stage]
        self._bus.publish(Alarm(SOURCE, code or stage_code, severity, move.reason))
