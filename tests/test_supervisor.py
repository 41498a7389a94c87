"""The supervisor: restart with capped backoff, health reported, failures kept apart."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

from govkiosk.bus import EventBus, ServiceHealthChanged
from govkiosk.contract.connection import Backoff
from govkiosk.errors import GovkioskError
from govkiosk.supervisor import Service, ServiceState, Supervisor, UnknownServiceError


class Crashing(Service):
    """Fails in serve() a given number of times, then runs."""

    def __init__(self, name: str, failures: int) -> None:
        self.name = name
        self.failures = failures
        self.starts = 0
        self.stops = 0

    async def start(self) -> None:
        self.starts += 1

    async def serve(self) -> None:
        if self.starts <= self.failures:
            raise GovkioskError(f"boom {self.starts}")
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.stops += 1


class Steady(Service):
    name = "steady"

    async def start(self) -> None:
        pass


def test_backoff_doubles_and_is_capped() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def wait_for_state(
    bus: EventBus, sup: Supervisor, name: str, state: ServiceState, restarts: int = 0
) -> None:
    reached = asyncio.Event()

    def check(_event: object = None) -> None:
        if (sup.health(name)[0].state, sup.health(name)[0].restarts) == (state, restarts):
            reached.set()

    unsubscribe = bus.subscribe(ServiceHealthChanged, check)
    check()
    try:
        await asyncio.wait_for(reached.wait(), 5)
    finally:
        unsubscribe()


async def test_failing_service_is_restarted_and_others_keep_running() -> None:
    bus = EventBus()
    events: List[ServiceHealthChanged] = []
    bus.subscribe(ServiceHealthChanged, events.append)
    sup = Supervisor(bus, Backoff(initial=0.01, maximum=0.04))
    crashing = Crashing("printer", failures=4)
    sup.add(crashing)
    sup.add(Steady())
    await sup.start_all()
    await wait_for_state(bus, sup, "printer", ServiceState.RUNNING, restarts=4)
    assert crashing.starts == 5
    assert crashing.stops == 4  # stop() ran after each failure
    health = {h.name: h for h in sup.health()}
    assert health["printer"].restarts == 4
    assert health["steady"].state is ServiceState.RUNNING
    delays = [e.detail for e in events if e.service == "printer" and e.state == "failed"]
    assert delays == [
        "boom 1; retry in 0.01 s",
        "boom 2; retry in 0.02 s",
        "boom 3; retry in 0.04 s",
        "boom 4; retry in 0.04 s",
    ]
    assert sup.summary() == "2/2 services running"
    await sup.stop_all()
    assert {h.state for h in sup.health()} == {ServiceState.STOPPED}
    assert crashing.stops == 5


async def test_summary_names_failing_services() -> None:
    bus = EventBus()
    sup = Supervisor(bus, Backoff(initial=30, maximum=30))
    sup.add(Crashing("ups", failures=99))
    await sup.start_all()
    await wait_for_state(bus, sup, "ups", ServiceState.FAILED, restarts=1)
    assert sup.summary() == "0/1 services running; failing: ups (boom 1; retry in 30 s)"
    await sup.stop_all()


async def test_unexpected_exception_in_start_is_contained() -> None:
    class Broken(Service):
        name = "broken"

        async def start(self) -> None:
            raise ZeroDivisionError

    sup = Supervisor(EventBus(), Backoff(initial=30, maximum=30))
    sup.add(Broken())
    await sup.start_all()
    (health,) = sup.health("broken")
    assert health.state is ServiceState.FAILED
    assert health.detail.startswith("ZeroDivisionError")
    await sup.stop_all()


async def test_unknown_service_and_duplicates() -> None:
    sup = Supervisor(EventBus(), Backoff())
    sup.add(Steady())
    with pytest.raises(ValueError, match="duplicate"):
        sup.add(Steady())
    with pytest.raises(UnknownServiceError, match="no service named 'nope'"):
        sup.health("nope")
    with pytest.raises(UnknownServiceError):
        await sup.restart("nope")


async def test_remove_stops_and_forgets() -> None:
    sup = Supervisor(EventBus(), Backoff())
    service = Crashing("reader", failures=0)
    sup.add(service)
    await sup.start_all()
    await sup.remove("reader")
    assert service.stops == 1
    assert sup.health() == []


async def test_service_that_finishes_is_stopped_not_restarted() -> None:
    class OneShot(Service):
        name = "oneshot"

        async def start(self) -> None:
            pass

        async def serve(self) -> None:
            return

    bus = EventBus()
    sup = Supervisor(bus, Backoff(initial=0.01))
    sup.add(OneShot())
    await sup.start_all()
    await wait_for_state(bus, sup, "oneshot", ServiceState.STOPPED)
    assert sup.health("oneshot")[0].detail == "finished"


class SlowToStart(Service):
    """Starts only when the test lets it; does not hold up READY."""

    gates_ready = False

    def __init__(self) -> None:
        self.name = "camera"
        self.release = asyncio.Event()

    async def start(self) -> None:
        await self.release.wait()


async def test_start_all_does_not_wait_for_a_service_that_does_not_gate_ready() -> None:
    bus = EventBus()
    sup = Supervisor(bus, Backoff(initial=0.01, maximum=0.04))
    slow = SlowToStart()
    sup.add(slow)
    sup.add(Steady())
    await sup.start_all()  # returns although the camera has not started
    health = {h.name: h.state for h in sup.health()}
    assert health["steady"] is ServiceState.RUNNING
    assert health["camera"] is not ServiceState.RUNNING
    slow.release.set()
    await wait_for_state(bus, sup, "camera", ServiceState.RUNNING, restarts=0)
    await sup.stop_all()
