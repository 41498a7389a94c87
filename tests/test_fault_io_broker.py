"""Fault matrix: the ops broker (the site's real mosquitto) down for "an hour" of
telemetry and alarms — the telemetry interval made small, so an hour is N intervals.
After the broker is back, ops has every message once: counted by ``seq``, the kiosk's
one sequence for telemetry and alarms, nothing is missing and nothing repeats. With the
offline queue full, the oldest telemetry is dropped first and alarms never."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Callable, Dict, List

from govkiosk.bus import Alarm, Severity
from govkiosk.ops.envelope import topic
from govkiosk.ops.link import LinkState
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site, next_payload, raw

TIMEOUT = 20.0
INTERVAL = 0.05
#: An hour of telemetry at the default 30 s interval.
HOUR = 120
TOPICS = (topic(KIOSK, "telemetry"), topic(KIOSK, "evt", "alarm"))


async def broker_down(site: Site, kiosk: Kiosk) -> None:
    site.broker.stop()
    await eventually(lambda: kiosk.link_states[-1] == LinkState.WAITING.value, "link down", TIMEOUT)


async def broker_back(site: Site, kiosk: Kiosk, service: Any) -> None:
    await asyncio.get_running_loop().run_in_executor(None, site.broker.start)
    await kiosk.connected()
    await eventually(lambda: service.outbox.size == 0, "queue flushed", TIMEOUT)


async def received(site: Site, until_code: str) -> List[Dict[str, Any]]:
    """Every telemetry and alarm document the watcher's persistent session got, up to
    the alarm ``until_code``."""
    documents: List[Dict[str, Any]] = []
    async with raw(site.identity("ops-watch"), "watcher", clean=False) as watcher:
        while not documents or documents[-1].get("code") != until_code:
            message = await next_payload(watcher)
            documents.append(json.loads(message["payload"]))
    return documents


async def queued_until(
    service: Any, condition: Callable[[List[Dict[str, Any]]], bool], what: str
) -> List[Dict[str, Any]]:
    """The offline queue's documents, once ``condition`` holds for them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while True:
        documents = [json.loads(row[2]) for row in await service.outbox.peek(10_000)]
        if condition(documents):
            return documents
        assert loop.time() < deadline, f"{what}: not within {TIMEOUT:g} s"
        await asyncio.sleep(0.01)


async def subscribe_watcher(site: Site) -> None:
    async with raw(site.identity("ops-watch"), "watcher", clean=False) as watcher:
        for name in TOPICS:
            await watcher.subscribe(name, qos=1)


async def test_an_hour_without_the_broker_loses_and_repeats_nothing(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    await subscribe_watcher(site)
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, telemetry_interval=INTERVAL
    ) as kiosk:
        service: Any = kiosk.daemon.supervisor._services["ops"]
        await kiosk.connected()
        await eventually(lambda: service.outbox.sequence >= 3, "telemetry flowing", TIMEOUT)
        await broker_down(site, kiosk)
        first = service.outbox.sequence
        for n in range(10):  # alarms during the outage, among the telemetry
            await eventually(
                lambda n=n: service.outbox.sequence >= first + (n + 1) * (HOUR // 10 + 1),
                "telemetry queued",
                TIMEOUT,
            )
            kiosk.daemon.bus.publish(Alarm("test", f"outage{n}", Severity.WARNING, f"#{n}"))
        await broker_back(site, kiosk, service)
        assert service.outbox.dropped == 0
        kiosk.daemon.bus.publish(Alarm("test", "sentinel", Severity.INFO, "the end"))
        documents = await received(site, "sentinel")
    seqs = [d["seq"] for d in documents]
    assert len(seqs) == len(set(seqs)), "a message arrived twice"
    # Telemetry and alarms are queued by different tasks: ops orders them by seq.
    assert sorted(seqs) == list(range(1, len(seqs) + 1)), "a message is missing"
    outage = [d for d in documents if first < d["seq"]]
    assert sum(1 for d in outage if "code" not in d) >= HOUR  # the hour of telemetry
    codes = [d["code"] for d in documents if "code" in d]
    assert codes == [f"outage{n}" for n in range(10)] + ["sentinel"]


async def test_a_full_queue_sheds_the_oldest_telemetry_and_keeps_every_alarm(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    limit, raised = 20, 30  # more alarms than the queue holds
    await subscribe_watcher(site)
    async with running_kiosk(
        site,
        tmp_path / "kiosk",
        private_bus.address,
        telemetry_interval=INTERVAL,
        queue_limit=limit,
    ) as kiosk:
        service: Any = kiosk.daemon.supervisor._services["ops"]
        await kiosk.connected()
        await broker_down(site, kiosk)
        first = service.outbox.sequence
        for n in range(raised):
            if n == limit // 2:  # half the queue alarms: telemetry fills the rest and more
                queued = await queued_until(
                    service,
                    lambda docs, n=n: (
                        service.outbox.dropped >= limit and sum("code" in d for d in docs) == n
                    ),
                    "the alarms queued and telemetry shed",
                )
                telemetry = sorted(d["seq"] for d in queued if "code" not in d)
                alarms = [d["code"] for d in queued if "code" in d]
                assert alarms == [f"code{k}" for k in range(n)]  # not one alarm dropped
                assert len(telemetry) == limit - n
                # The telemetry kept is the newest: every seq after the oldest one kept
                # is in the queue (or is the one being queued right now).
                allotted = set(range(telemetry[0], max(d["seq"] for d in queued) + 1))
                assert allotted - set(telemetry) - {d["seq"] for d in queued} == set()
            kiosk.daemon.bus.publish(Alarm("test", f"code{n}", Severity.WARNING, f"#{n}"))
        queued = await queued_until(
            service, lambda docs: sum("code" in d for d in docs) == raised, "every alarm queued"
        )
        assert [d["code"] for d in queued] == [f"code{k}" for k in range(raised)]  # only alarms
        await broker_back(site, kiosk, service)
        kiosk.daemon.bus.publish(Alarm("test", "sentinel", Severity.INFO, "the end"))
        documents = await received(site, "sentinel")
    outage = [d for d in documents if d["seq"] > first]
    codes = [d["code"] for d in outage if "code" in d]
    assert codes == [f"code{n}" for n in range(raised)] + ["sentinel"]  # each once, in order
    seqs = [d["seq"] for d in documents]
    assert len(seqs) == len(set(seqs))


#: An hour's outage with devices flapping: 10,000 raises, and a small alarm queue.
RAISES = 10_000
ALARM_LIMIT = 30
STUCK = 10  #: devices that fail and stay failed: never cleared
FLAPPING = 8  #: devices that fail and recover over and over: their repeats are counted
BURST = 9_000  #: from this raise on, many devices fail and recover once: more than fit
BATCH = 200


def flapping_alarm(n: int) -> Alarm:
    """The ``n``-th raise of the outage: first the stuck devices' failures, then the
    flapping devices in turn, then a burst of devices each failing and recovering once;
    every device's failure is followed by its recovery (cleared) but the stuck ones'."""
    if n < STUCK:
        return Alarm("camera", "camera.gone", Severity.WARNING, "gone", subject=f"stuck{n}")
    flapping = n < BURST
    device = f"flap{(n - STUCK) // 2 % FLAPPING}" if flapping else f"burst{(n - BURST) // 2}"
    if (n - STUCK) % 2:
        return Alarm("camera", "camera.recovered", Severity.INFO, "back", subject=device)
    return Alarm("camera", "camera.gone", Severity.WARNING, "gone", subject=device)


async def test_a_flapping_alarm_through_an_outage_is_bounded_counted_and_sent_once(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    await subscribe_watcher(site)
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, alarm_queue_limit=ALARM_LIMIT
    ) as kiosk:
        service: Any = kiosk.daemon.supervisor._services["ops"]
        outbox = service.outbox
        await kiosk.connected()
        await broker_down(site, kiosk)
        first = outbox.sequence
        most = 0
        for start in range(0, RAISES, BATCH):
            for n in range(start, min(RAISES, start + BATCH)):
                kiosk.daemon.bus.publish(flapping_alarm(n))
            done = min(RAISES, start + BATCH)
            await eventually(
                lambda done=done: outbox.repeats + outbox.alarms_queued == done,
                "the batch queued or counted",
                TIMEOUT,
            )
            most = max(most, outbox.alarms)
        assert most <= ALARM_LIMIT  # bounded all through the outage
        assert outbox.size <= ALARM_LIMIT + 10  # and telemetry is shed as before
        assert outbox.alarms_dropped > 0
        repeats = outbox.repeats
        await broker_back(site, kiosk, service)
        kiosk.daemon.bus.publish(Alarm("test", "sentinel", Severity.INFO, "the end"))
        documents = await received(site, "sentinel")
    seqs = [d["seq"] for d in documents]
    assert len(seqs) == len(set(seqs)), "a message arrived twice"
    alarms = [d for d in documents if d["seq"] > first and "code" in d and d["code"] != "sentinel"]
    [notice] = [d for d in alarms if d["code"] == "ops.alarms_dropped"]
    raised = [d for d in alarms if d["code"] != "ops.alarms_dropped"]
    assert notice["message"] == f"alarms dropped: {notice['dropped']}"
    # Every raise is accounted for: sent (itself or as a counted repeat) or dropped.
    assert sum(1 + d.get("repeats", 0) for d in raised) + notice["dropped"] == RAISES
    assert notice["dropped"] == outbox.alarms_dropped
    # The cleared went first: every stuck device's failure reached ops.
    assert {d["subject"] for d in raised if d["subject"].startswith("stuck")} == {
        f"stuck{k}" for k in range(STUCK)
    }
    keys = [(d["code"], d["subject"]) for d in raised]
    assert len(keys) == len(set(keys))  # repeats were counted, not queued
    # The flapping was counted, not queued: each device's failure and recovery queued once.
    assert repeats == BURST - STUCK - 2 * FLAPPING
