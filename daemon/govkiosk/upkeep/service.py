"""The supervised ``upkeep`` service: the daily self-test, the consumables' counts and the
availability record.

It follows the bus (receipts printed with their length, A4 sheets, the printers' and the
UPS's states, the power stage) and writes to SQLite from its own task, never from a bus
handler. The self-test runs at ``[selftest] time`` when no citizen is served, else every
``retry`` seconds until it can; ``run_selftest`` runs it at once (``govkioskctl selftest``).
Each failed check raises an alarm (``selftest_<check>``); a consumable falling below
``[consumables] warn_percent`` raises ``<name>_low`` once, while paper remains.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import logging
import secrets
import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Deque, Dict, List, Tuple

from ..bus import Alarm, Event, EventBus, EventStream, Severity
from ..devices.receipt.events import ReceiptJobFinished, ReceiptPrinterStateChanged
from ..devices.ups.selftest import Outcome, UpsSelfTestDone, UpsSelfTestRun
from ..devices.ups.state import UpsStateChanged
from ..power.policy import Stage
from ..power.service import ShutdownStageChanged
from ..printing.a4 import A4Printed
from ..supervisor import Service
from ..timeouts import wait_for
from . import consumables
from .availability import DOWN, IN_SERVICE, OUT_OF_SERVICE
from .consumables import Level
from .selftest import Probe, run_checks
from .settings import ConsumablesSettings, SelfTestSettings, time_of_day
from .store import CheckResult, SelfTestResult, UpkeepStore

_LOGGER = logging.getLogger(__name__)

SOURCE = "upkeep"
#: Seconds between heartbeats: how much down time a crash may leave unrecorded.
HEARTBEAT = 60.0
#: Writes waiting for the disk; past this new ones are dropped (and logged).
PENDING_MAX = 1000

Write = Callable[[], Awaitable[None]]
#: How soon records the disk refused (full) are tried again.
RETRY = 30.0


@dataclass(frozen=True)
class SelfTestFinished(Event):
    """A self-test ended; ``failed`` names the checks that failed (no personal data)."""

    trigger: str
    failed: Tuple[str, ...]


def next_run(now: float, at: str) -> float:
    """The next local time of day ``at`` (``"HH:MM"``) strictly after ``now``."""
    hour, minute = time_of_day(at)
    current = datetime.datetime.fromtimestamp(now)
    target = current.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= current:
        target += datetime.timedelta(days=1)
    return target.timestamp()


class UpkeepService(Service):
    name = "upkeep"

    def __init__(
        self,
        upkeep: UpkeepStore,
        bus: EventBus,
        probe: Probe,
        selftest: Callable[[], SelfTestSettings],
        supplies: Callable[[], ConsumablesSettings],
        *,
        busy: Callable[[], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.upkeep = upkeep
        self._bus = bus
        self.probe = probe
        self._selftest = selftest
        self._supplies = supplies
        self._busy = busy
        self._clock = clock
        self._writes: asyncio.Queue[Write] = asyncio.Queue(PENDING_MAX)
        self._running = asyncio.Lock()
        self._due = 0.0
        self.dropped = 0
        #: UPS device → whether its battery test may run now (on mains, reading current)
        self._ups_testable: Dict[str, bool] = {}
        self._held: Deque[Write] = deque(maxlen=PENDING_MAX)
        self._refused = False
        self._unsubscribers = [
            bus.subscribe(ReceiptJobFinished, self._on_receipt),
            bus.subscribe(A4Printed, self._on_a4),
            bus.subscribe(ReceiptPrinterStateChanged, self._on_printer),
            bus.subscribe(UpsStateChanged, self._on_ups),
            bus.subscribe(ShutdownStageChanged, self._on_stage),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()

    # The service ----------------------------------------------------------------------
    async def start(self) -> None:
        await self.upkeep.migrate()
        await self.upkeep.close_crash()
        await self.upkeep.transition(self._clock(), IN_SERVICE)
        self._due = next_run(self._clock(), self._selftest().time)

    async def serve(self) -> None:
        while True:
            wait = min(HEARTBEAT, max(0.0, self._due - self._clock()))
            if self._held:
                wait = min(wait, RETRY)
            try:
                write = await wait_for(self._writes.get(), wait)
            except asyncio.TimeoutError:
                pass
            else:
                try:
                    if await self._write_held():
                        await self._attempt(write)
                    else:
                        self._held.append(write)
                finally:
                    self._writes.task_done()
                continue
            await self._write_held()
            now = self._clock()
            if now >= self._due:
                await self._scheduled(now)
            await self._attempt(functools.partial(self.upkeep.heartbeat, now), hold=False)

    async def _attempt(self, write: Write, *, hold: bool = True) -> bool:
        """Run ``write``; when the disk refuses it (full), keep it for later (``hold``)
        rather than let the service die and the record with it."""
        try:
            await write()
        except (sqlite3.OperationalError, OSError) as err:
            if not self._refused:
                _LOGGER.warning("upkeep: records wait in memory, the disk refuses them: %s", err)
            self._refused = True
            if hold:
                self._held.append(write)
            return False
        if self._refused:
            _LOGGER.info("upkeep: records written again")
        self._refused = False
        return True

    async def _write_held(self) -> bool:
        """Write the records the disk refused before, oldest first; whether all went."""
        while self._held:
            if not await self._attempt(self._held[0], hold=False):
                return False
            self._held.popleft()
        return True

    async def settled(self) -> None:
        """Return once every record the bus handed over so far is written."""
        await self._writes.join()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            while not self._writes.empty():
                await self._writes.get_nowait()()
            await self.upkeep.transition(self._clock(), DOWN)

    async def _scheduled(self, now: float) -> None:
        settings = self._selftest()
        if self._busy() or self._running.locked():
            self._due = now + settings.retry
            _LOGGER.info("self-test: the kiosk is busy; trying again in %g s", settings.retry)
            return
        await self.run_selftest("schedule")
        self._due = next_run(self._clock(), settings.time)

    # The self-test --------------------------------------------------------------------
    async def run_selftest(self, trigger: str = "manual") -> SelfTestResult:
        """Every check now; the result stored, alarms raised for each failure."""
        async with self._running:
            started = self._clock()
            settings = self._selftest()
            loop = asyncio.get_running_loop()
            checks = await loop.run_in_executor(None, run_checks, self.probe, settings)
            if settings.ups_battery_test:
                checks += tuple(await self._ups_battery_tests(settings.ups_battery_limit))
            result = SelfTestResult(started, self._clock(), trigger, checks)
            await self.upkeep.add_result(result)
        failed = tuple(c.name for c in checks if not c.passed)
        for check in checks:
            if not check.passed:
                self._bus.publish(
                    Alarm(SOURCE, f"selftest_{check.name}", Severity.WARNING, check.detail)
                )
        if failed:
            _LOGGER.warning("self-test (%s): failed %s", trigger, ", ".join(failed))
        else:
            _LOGGER.info("self-test (%s): every check passed", trigger)
        self._bus.publish(SelfTestFinished(trigger, failed))
        return result

    async def _ups_battery_tests(self, limit: float) -> List[CheckResult]:
        """The UPS's quick battery test on each UPS that can run one and is on mains."""
        results = []
        for device, on_line in sorted(self._ups_testable.items()):
            if not on_line:
                results.append(
                    CheckResult("ups_battery", True, f"{device}: on battery, test not run")
                )
                continue
            run_id = f"upkeep-{secrets.token_hex(6)}"
            with self._bus.stream(UpsSelfTestDone) as done:
                self._bus.publish(UpsSelfTestRun(device, run_id))
                try:
                    event = await wait_for(_done(done, run_id), limit)
                except asyncio.TimeoutError:
                    results.append(
                        CheckResult("ups_battery", False, f"{device}: no outcome in {limit:g} s")
                    )
                    continue
            passed = event.outcome == Outcome.PASSED.value
            results.append(
                CheckResult("ups_battery", passed, f"{device}: {event.outcome}: {event.text}")
            )
        return results

    # Consumables ----------------------------------------------------------------------
    async def refill(self, name: str) -> Level:
        """The roll or tray ``name`` was refilled: its count starts again."""
        consumables.check_name(name)
        await self.upkeep.refill(name, self._clock())
        _LOGGER.info("consumables: %s refilled", name)
        return await self.upkeep.level(name, self._supplies())

    async def _use(self, name: str, amount: float) -> None:
        supplies = self._supplies()
        before = await self.upkeep.level(name, supplies)
        await self.upkeep.use(name, amount)
        after = await self.upkeep.level(name, supplies)
        if consumables.crossed(before, after):
            self._bus.publish(
                Alarm(
                    SOURCE,
                    f"{name}_low",
                    Severity.WARNING,
                    f"{name} paper: about {after.remaining_percent:.0f} % left "
                    f"({after.remaining:.0f} of {after.capacity} {consumables.UNITS[name]}); "
                    "refill, then record it: govkioskctl consumables refill " + name,
                )
            )

    # Bus handlers: quick, no I/O -------------------------------------------------------
    def _queue(self, write: Write) -> None:
        try:
            self._writes.put_nowait(write)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                _LOGGER.warning("upkeep: records are not reaching the disk; new ones dropped")

    def _on_receipt(self, event: ReceiptJobFinished) -> None:
        if event.length_mm > 0:
            self._queue(lambda: self._use(consumables.RECEIPT, event.length_mm))

    def _on_a4(self, event: A4Printed) -> None:
        if event.sheets > 0:
            self._queue(lambda: self._use(consumables.A4, float(event.sheets)))

    def _on_printer(self, event: ReceiptPrinterStateChanged) -> None:
        self.probe.printers[event.device] = (event.state, event.detail)

    def _on_ups(self, event: UpsStateChanged) -> None:
        self.probe.ups_stale[event.device_id] = event.state.stale
        if event.can_self_test:
            self._ups_testable[event.device_id] = event.state.on_line and not event.state.stale

    def _on_stage(self, event: ShutdownStageChanged) -> None:
        state = IN_SERVICE if _in_service(event.stage) else OUT_OF_SERVICE
        now = self._clock()
        self._queue(lambda: self.upkeep.transition(now, state))


async def _done(stream: EventStream[UpsSelfTestDone], run_id: str) -> UpsSelfTestDone:
    while True:
        event = await stream.get()
        if event.run_id == run_id:
            return event


def _in_service(stage: str) -> bool:
    return Stage(stage).in_service
