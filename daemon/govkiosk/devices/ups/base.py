"""What every UPS driver shares: publishing readings on change, going stale, and running
the battery self-test when asked (:class:`~.selftest.UpsSelfTestRun`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional, Set

from ...bus import EventBus
from ...supervisor import Service
from .errors import UpsError, UpsSelfTestUnsupportedError
from .selftest import Outcome, SelfTestResult, UpsSelfTestDone, UpsSelfTestRun
from .state import UpsState, UpsStateChanged

_LOGGER = logging.getLogger(__name__)


class UpsDriver(Service):
    """A supervised UPS driver; subclasses read the UPS and call :meth:`publish`."""

    #: Whether the UPS can be asked to test its battery this way.
    can_self_test = False

    def __init__(self, name: str, bus: EventBus) -> None:
        self.name = name
        self._bus = bus
        self.last: Optional[UpsState] = None
        self._runs: Set[asyncio.Task[None]] = set()
        self._stop_listening: Optional[Callable[[], None]] = None

    def publish(self, state: UpsState) -> None:
        """Tell the kiosk about ``state`` if it differs from the last reading."""
        if state == self.last:
            return
        self.last = state
        self._bus.publish(UpsStateChanged(self.name, state, self.can_self_test))

    def mark_stale(self) -> None:
        """The last reading is no longer current (no data, no answer, no connection)."""
        if self.last is not None:
            self.publish(self.last.as_stale())

    async def run_self_test(self) -> SelfTestResult:
        """Run the battery test and wait for its outcome (subclasses that can)."""
        raise UpsSelfTestUnsupportedError(f"{self.name}: this UPS connection cannot run a test")

    def listen_for_self_tests(self) -> None:
        """Answer :class:`UpsSelfTestRun` for this UPS from now until :meth:`stop`."""
        if self._stop_listening is None:
            self._stop_listening = self._bus.subscribe(UpsSelfTestRun, self._on_run)

    def _on_run(self, event: UpsSelfTestRun) -> None:
        if event.device_id != self.name:
            return
        task = asyncio.ensure_future(self._run(event.run_id))
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _run(self, run_id: str) -> None:
        try:
            result = await self.run_self_test()
        except asyncio.CancelledError:
            self._bus.publish(
                UpsSelfTestDone(self.name, run_id, Outcome.ERROR.value, "the UPS driver stopped")
            )
            raise
        except UpsError as err:
            result = SelfTestResult(Outcome.ERROR, str(err))
        _LOGGER.info("%s: self-test %s: %s", self.name, result.outcome.value, result.text)
        self._bus.publish(UpsSelfTestDone(self.name, run_id, result.outcome.value, result.text))

    async def stop(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        for task in list(self._runs):
            task.cancel()
        # Whoever listens must not go on trusting a reading nobody refreshes.
        self.mark_stale()
