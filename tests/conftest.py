"""Fixtures: real components on loopback (tests/harness), one per test unless named otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.mosquitto import Broker, BrokerTls
from harness.nut import NutServer

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def private_bus(tmp_path: Path) -> Iterator[PrivateBus]:
    bus = PrivateBus(tmp_path / "dbus")
    yield bus
    bus.stop()


@pytest.fixture
def make_mosquitto(tmp_path: Path) -> Iterator[Callable[[Optional[BrokerTls]], Broker]]:
    """Start brokers (plain, or with a TLS listener and ACL); all are stopped afterwards."""
    brokers: List[Broker] = []

    def make(tls: Optional[BrokerTls] = None) -> Broker:
        broker = Broker(tmp_path / f"mosquitto-{len(brokers)}", tls)
        brokers.append(broker)
        broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def mosquitto(make_mosquitto: Callable[[Optional[BrokerTls]], Broker]) -> Broker:
    """A running broker with a plain loopback listener."""
    return make_mosquitto(None)


@pytest.fixture
def cupsd() -> Iterator[CupsServer]:
    """A running private scheduler with a raw capture queue (``cupsd.queue``)."""
    server = CupsServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def nut(tmp_path: Path) -> Iterator[NutServer]:
    """A private upsd with one dummy-ups UPS, on line; ``nut.write(ups_status=…)`` changes it."""
    server = NutServer(tmp_path / "nut")
    yield server
    server.stop()
