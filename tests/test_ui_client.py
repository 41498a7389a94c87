"""The UI's D-Bus client against the real daemon on a private bus (no display needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator, Callable, List

import pytest
from dbus_next import Message
from dbus_next.aio import MessageBus

from govkiosk.contract.connection import Backoff, connect, release
from govkiosk.contract.names import KIOSK_INTERFACE, OBJECT_PATH
from govkiosk_ui.client import DaemonClient
from govkiosk_ui.status import DaemonStatus
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.govkioskd import Govkioskd

TIMEOUT = 15.0

#: Any role with a driver does: the port does not exist, so the driver fails and the
#: supervisor restarts it again and again, each time announcing it on D-Bus.
FAILING_DEVICE = """
[[devices.static]]
role = "qrscanner"
port = "/dev/nonexistent-scanner"
"""


PEER = "org.freedesktop.DBus.Peer"


async def bus_call(bus: MessageBus, member: str) -> List[str]:
    reply = await bus.call(
        Message(
            destination="org.freedesktop.DBus",
            path="/org/freedesktop/DBus",
            interface="org.freedesktop.DBus",
            member=member,
        )
    )
    assert reply is not None
    return list(reply.body[0])


class Seen:
    """Every status the client reported, newest last."""

    def __init__(self) -> None:
        self.statuses: List[DaemonStatus] = []

    def __call__(self, status: DaemonStatus) -> None:
        self.statuses.append(status)

    @property
    def last(self) -> DaemonStatus:
        return self.statuses[-1]

    async def until(self, check: Callable[[DaemonStatus], bool], what: str) -> DaemonStatus:
        await eventually(lambda: bool(self.statuses) and check(self.last), what, TIMEOUT)
        return self.last


@pytest.fixture
async def seen(private_bus: PrivateBus) -> AsyncIterator[Seen]:
    seen = Seen()
    client = DaemonClient(private_bus.address, seen, backoff=Backoff(0.05, 0.3))
    task = asyncio.ensure_future(client.run())
    yield seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def all_running(status: DaemonStatus) -> bool:
    return status.available and bool(status.services) and status.healthy


async def test_follows_the_daemon_away_and_back(
    tmp_path: Path, private_bus: PrivateBus, seen: Seen
) -> None:
    await seen.until(lambda s: not s.available, "unavailable before the daemon starts")
    daemon = Govkioskd(tmp_path / "daemon", private_bus.address)
    daemon.start()
    try:
        status = await seen.until(all_running, "the daemon's status")
        assert status.kiosk_id == "test-hlj-0001"
        assert status.kiosk_name == "测试政务服务中心 1号机"
        assert "dbus" in {s.name for s in status.services}

        daemon.stop()
        gone = await seen.until(lambda s: not s.available, "unavailable once the daemon stops")
        assert gone.kiosk_id == "test-hlj-0001", "the last known kiosk id stays on screen"
        assert gone.services == ()

        daemon.start()
        await seen.until(all_running, "recovered when the daemon is back")
    finally:
        daemon.stop()


async def test_recovers_when_the_bus_itself_restarts(tmp_path: Path) -> None:
    bus = PrivateBus(tmp_path / "bus")
    client_seen = Seen()
    client = DaemonClient(bus.address, client_seen, backoff=Backoff(0.05, 0.3))
    task = asyncio.ensure_future(client.run())
    daemon = Govkioskd(tmp_path / "daemon", bus.address)
    daemon.start()
    try:
        await client_seen.until(all_running, "the daemon's status")
        bus.stop()
        await client_seen.until(lambda s: not s.available, "unavailable without a bus")
        bus = PrivateBus(tmp_path / "bus")  # same socket path: the daemon reconnects too
        await client_seen.until(all_running, "recovered on the new bus")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        daemon.stop()
        bus.stop()


async def test_health_signals_update_the_status(
    tmp_path: Path, private_bus: PrivateBus, seen: Seen
) -> None:
    daemon = Govkioskd(tmp_path / "daemon", private_bus.address, FAILING_DEVICE)
    daemon.start()
    try:
        first = await seen.until(lambda s: s.available, "the daemon's status")
        scanner = lambda s: next(r for r in s.services if r.name.startswith("qrscanner"))  # noqa: E731
        start = scanner(first).restarts
        later = await seen.until(
            lambda s: s.available and scanner(s).restarts >= start + 2,
            "restarts announced by ServiceHealthChanged",
        )
        assert not later.healthy
        assert later.running == len(later.services) - 1
    finally:
        daemon.stop()


async def test_ignores_health_signals_from_other_peers(
    tmp_path: Path, private_bus: PrivateBus, seen: Seen
) -> None:
    daemon = Govkioskd(tmp_path / "daemon", private_bus.address)
    daemon.start()
    impostor = await connect(private_bus.address)
    try:
        await seen.until(all_running, "the daemon's status")
        before = len(seen.statuses)
        impostor.send(
            Message.new_signal(
                OBJECT_PATH,
                KIOSK_INTERFACE,
                "ServiceHealthChanged",
                "sssu",
                ["dbus", "failed", "forged", 99],
            )
        )
        # Each peer handles its messages in order: once every peer has answered a ping
        # sent after the signal, the client has dealt with the signal.
        for name in await bus_call(impostor, "ListNames"):
            if name.startswith(":") and name != impostor.unique_name:
                await impostor.call(
                    Message(destination=name, path="/", interface=PEER, member="Ping")
                )
        assert len(seen.statuses) == before
        assert seen.last.healthy
    finally:
        impostor.disconnect()
        await impostor.wait_for_disconnect()
        release(impostor)
        daemon.stop()
