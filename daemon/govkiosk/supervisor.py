"""Supervised services: start, serve, stop, and restart with capped exponential backoff.

A :class:`Service` prepares itself in :meth:`~Service.start` (returning means ready),
does its long-running work in :meth:`~Service.serve`, and releases what it holds in
:meth:`~Service.stop`. If ``start`` or ``serve`` raises, the supervisor records the
failure, publishes :class:`~govkiosk.bus.ServiceHealthChanged`, waits
``initial · 2ⁿ`` seconds (capped) and tries again. One failing service never stops the
others: each runs in its own task.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Set

from .bus import EventBus, ServiceHealthChanged
from .contract.connection import Backoff
from .errors import GovkioskError

_LOGGER = logging.getLogger(__name__)

#: A service that has run this long without failing starts its backoff afresh.
STABLE_AFTER = 60.0


class ServiceState(str, enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"  # waiting to be restarted
    STOPPED = "stopped"


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    state: ServiceState
    detail: str
    restarts: int

    @property
    def healthy(self) -> bool:
        return self.state is ServiceState.RUNNING


class UnknownServiceError(GovkioskError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no service named {name!r}")


class Service(ABC):
    """A long-lived part of the daemon."""

    #: The name in health reports and log prefixes; unique within a supervisor.
    name: str
    #: Whether :meth:`Supervisor.start_all` (and so ``READY=1``) waits for this service's
    #: first start. A service whose start is slow and which reports its own readiness
    #: (a camera: FFmpeg probes a stream for a second or two) says ``False``.
    gates_ready: bool = True

    @abstractmethod
    async def start(self) -> None:
        """Acquire resources; return once the service is ready."""

    async def serve(self) -> None:
        """Do the service's work; runs until cancelled. Raise to report a failure."""
        await asyncio.Event().wait()

    async def stop(self) -> None:  # noqa: B027 - most services hold nothing to release
        """Release what ``start`` acquired. Must not raise."""


class Supervisor:
    def __init__(
        self,
        bus: EventBus,
        backoff: Backoff,
        *,
        stop_timeout: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self.backoff = backoff
        self._stop_timeout = stop_timeout
        self._clock = clock
        self._services: Dict[str, Service] = {}
        self._health: Dict[str, ServiceHealth] = {}
        self._tasks: Dict[str, asyncio.Task[None]] = {}
        self._attempted: Dict[str, asyncio.Event] = {}
        self._stopping: Set[asyncio.Future[None]] = set()

    def add(self, service: Service) -> None:
        if service.name in self._services:
            raise ValueError(f"duplicate service name {service.name!r}")
        self._services[service.name] = service
        self._attempted[service.name] = asyncio.Event()
        self._set(service.name, ServiceState.STOPPED, "", 0)

    def launch(self, name: str) -> None:
        """Start supervising ``name`` (added earlier) in a task of its own."""
        if name in self._tasks:
            return
        task = asyncio.ensure_future(self._supervise(self._services[name]))
        self._tasks[name] = task
        task.add_done_callback(lambda _t: self._tasks.pop(name, None))

    async def start_all(self, ready_timeout: float = 10.0) -> None:
        """Launch every service and wait until each that ``gates_ready`` has started or
        failed once."""
        for name in self._services:
            self.launch(name)
        waits = [
            asyncio.ensure_future(e.wait())
            for name, e in self._attempted.items()
            if self._services[name].gates_ready
        ]
        if waits:
            _done, pending = await asyncio.wait(waits, timeout=ready_timeout)
            for wait in pending:
                wait.cancel()

    async def stop(self, name: str) -> None:
        task = self._tasks.get(name)
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task], timeout=self._stop_timeout)

    async def remove(self, name: str) -> None:
        """Stop ``name`` and forget it (a device unplugged)."""
        await self.stop(name)
        self._services.pop(name, None)
        self._health.pop(name, None)
        self._attempted.pop(name, None)

    async def stop_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self._stop_timeout)
            if pending:
                late = sorted(n for n, t in self._tasks.items() if t in pending)
                _LOGGER.warning("not stopped within %g s: %s", self._stop_timeout, ", ".join(late))

    async def restart(self, name: str) -> None:
        if name not in self._services:
            raise UnknownServiceError(name)
        await self.stop(name)
        self.launch(name)

    def health(self, name: Optional[str] = None) -> List[ServiceHealth]:
        if name is None:
            return list(self._health.values())
        if name not in self._health:
            raise UnknownServiceError(name)
        return [self._health[name]]

    def summary(self) -> str:
        """One line for sd_notify STATUS= and logs."""
        health = list(self._health.values())
        running = sum(1 for h in health if h.healthy)
        line = f"{running}/{len(health)} services running"
        failing = [h for h in health if h.state is ServiceState.FAILED]
        if failing:
            line += "; failing: " + ", ".join(f"{h.name} ({h.detail})" for h in failing)
        return line

    def _set(self, name: str, state: ServiceState, detail: str, restarts: int) -> None:
        health = ServiceHealth(name, state, detail, restarts)
        if self._health.get(name) == health:
            return
        self._health[name] = health
        self._bus.publish(ServiceHealthChanged(name, state.value, detail, restarts))

    async def _supervise(self, service: Service) -> None:
        name = service.name
        failures = 0
        restarts = 0
        log = _LOGGER.getChild(name)
        try:
            while True:
                self._set(name, ServiceState.STARTING, "", restarts)
                started_at = self._clock()
                try:
                    await service.start()
                    self._set(name, ServiceState.RUNNING, "", restarts)
                    self._attempted[name].set()
                    await service.serve()
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    detail = str(err) or type(err).__name__
                    if isinstance(err, GovkioskError):
                        log.warning("%s: failed: %s", name, detail)
                    else:
                        log.exception("%s: failed unexpectedly", name)
                else:
                    self._set(name, ServiceState.STOPPED, "finished", restarts)
                    return
                finally:
                    await self._stop_quietly(service, log)
                if self._clock() - started_at >= STABLE_AFTER:
                    failures = 0
                failures += 1
                restarts += 1
                delay = self.backoff.delay(failures)
                self._set(name, ServiceState.FAILED, f"{detail}; retry in {delay:g} s", restarts)
                self._attempted[name].set()
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self._set(name, ServiceState.STOPPED, "", restarts)
            raise

    async def _stop_quietly(self, service: Service, log: logging.Logger) -> None:
        # asyncio.wait, unlike wait_for, never swallows our own cancellation when the
        # awaited stop() happens to finish at the same moment. If we are cancelled,
        # stop() still runs to its end in the background.
        stopping = asyncio.ensure_future(service.stop())
        self._stopping.add(stopping)
        stopping.add_done_callback(self._stopping.discard)
        done, _pending = await asyncio.wait({stopping}, timeout=self._stop_timeout / 2)
        if not done:
            log.warning("%s: stop did not finish in %g s", service.name, self._stop_timeout / 2)
            stopping.cancel()
        elif stopping.exception() is not None:
            log.error("%s: stop failed", service.name, exc_info=stopping.exception())
