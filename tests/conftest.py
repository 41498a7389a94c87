"""Fixtures: real components on loopback (tests/harness), one per test unless named otherwise."""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator, List, Optional

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings

from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kivy_ui import Driver, running_ui
from harness.mosquitto import Broker, BrokerTls
from harness.nut import NutServer
from harness.opssite import Site

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

#: Hypothesis profiles. ``ci`` (the default, ``make test``): a modest number of cases per
#: property, no per-example deadline (CI runs on two busy cores). ``deep`` (``make fuzz``,
#: the tests marked ``fuzz``): at least 10,000 cases per property, and no health check
#: that would stop a long run for being slow. ``HYPOTHESIS_PROFILE`` chooses.
CI_EXAMPLES = 100
DEEP_EXAMPLES = 10_000
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None)
settings.register_profile(
    "deep",
    max_examples=DEEP_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class _Unhandled(logging.Handler):
    """What the event loop reported as unhandled: asyncio's default exception handler logs
    it on the ``asyncio`` logger (an error nobody read, a callback that raised)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reports: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.reports.append(record.getMessage().splitlines()[0])


@pytest.fixture(autouse=True)
def no_unhandled_loop_errors() -> Iterator[None]:
    """Fail a test after which the event loop reported an error nobody handled.

    Every such report is an ERROR line with a traceback in the kiosk's log for something
    the code should have dealt with, or a task or connection left behind. Garbage is
    collected first: an unread future's error is reported when it is collected.
    """
    unhandled = _Unhandled()
    logger = logging.getLogger("asyncio")
    logger.addHandler(unhandled)
    try:
        yield
        gc.collect()
    finally:
        logger.removeHandler(unhandled)
    assert unhandled.reports == [], "the event loop reported unhandled errors"


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
def site(tmp_path: Path) -> Iterator[Site]:
    """An ops site: its CA, mosquitto with the shipped TLS listener and ACL, operator keys."""
    site = Site.create(tmp_path / "site")
    yield site
    site.stop()


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


@pytest.fixture(scope="session")
def ui_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBus]:
    """The bus the in-process UI follows; each UI test brings its daemon onto it."""
    bus = PrivateBus(tmp_path_factory.mktemp("ui-bus"))
    yield bus
    bus.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ui(tmp_path_factory: pytest.TempPathFactory, ui_bus: PrivateBus) -> AsyncIterator[Driver]:
    """The real Kivy UI in this process (one window per process: shared by the UI tests)."""
    async with running_ui(tmp_path_factory.mktemp("ui"), ui_bus.address) as driver:
        yield driver
