"""The network state from the route table, and ``cn.govkiosk.Ops1`` on a private bus."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Dict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.api.ops import OpsInterface
from govkiosk.bus import EventBus
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, OBJECT_PATH, OPS_INTERFACE
from govkiosk.dbus.service import DBusService
from govkiosk.ops.link import OpsLinkChanged
from govkiosk.ops.network import (
    LOCAL,
    OFFLINE,
    ONLINE,
    NetworkChanged,
    NetworkError,
    NetworkWatch,
    Route,
    network_state,
    parse_routes,
)
from harness.dbus import PrivateBus

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
#: A kiosk on DHCP: the default route and its subnet through eth0 (flags UG and U).
DEFAULT = "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
SUBNET = "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
#: The same default route, but not usable (flags without RTF_UP).
DEFAULT_NOT_UP = "eth0\t00000000\t0101A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0\n"
LOOPBACK_NET = "lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n"


def test_routes_are_read_from_the_kernel_table() -> None:
    routes = parse_routes(HEADER + DEFAULT + SUBNET + DEFAULT_NOT_UP)
    assert routes == [Route("eth0", True), Route("eth0", False)]


@pytest.mark.parametrize(
    ("table", "up", "state"),
    [
        (DEFAULT + SUBNET, {"eth0"}, ONLINE),
        (SUBNET, {"eth0"}, LOCAL),  # specific routes only: a closed government network
        (DEFAULT + SUBNET, set(), OFFLINE),  # the cable is out: the routes stay, eth0 is down
        (DEFAULT_NOT_UP + LOOPBACK_NET, {"eth0", "lo"}, OFFLINE),
        ("", set(), OFFLINE),
    ],
)
def test_network_state(table: str, up: set, state: str) -> None:
    assert network_state(parse_routes(HEADER + table), lambda name: name in up) == state


@given(st.text())
def test_any_table_text_parses_without_error(text: str) -> None:
    for route in parse_routes(text):
        assert route.interface
        assert not any(c.isspace() for c in route.interface)


def write_table(root: Path, table: str, operstates: Dict[str, str]) -> None:
    (root / "route").write_text(HEADER + table)
    for name, operstate in operstates.items():
        (root / "net" / name).mkdir(parents=True, exist_ok=True)
        (root / "net" / name / "operstate").write_text(operstate + "\n")


async def test_watch_publishes_each_change(tmp_path: Path) -> None:
    bus = EventBus()
    watch = NetworkWatch(
        bus, route_table=tmp_path / "route", interfaces=tmp_path / "net", interval=0.01
    )
    write_table(tmp_path, DEFAULT + SUBNET, {"eth0": "up"})
    with bus.stream(NetworkChanged) as changes:
        await watch.start()
        assert (await asyncio.wait_for(changes.get(), 3)).state == ONLINE
        task = asyncio.ensure_future(watch.serve())
        try:
            write_table(tmp_path, DEFAULT + SUBNET, {"eth0": "down"})
            assert (await asyncio.wait_for(changes.get(), 3)).state == OFFLINE
            write_table(tmp_path, SUBNET, {"eth0": "unknown"})  # a tunnel's operstate
            assert (await asyncio.wait_for(changes.get(), 3)).state == LOCAL
            with pytest.raises(asyncio.TimeoutError):  # polled again and again: no repeats
                await asyncio.wait_for(changes.get(), 0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def test_an_unreadable_table_is_an_error(tmp_path: Path) -> None:
    watch = NetworkWatch(EventBus(), route_table=tmp_path / "missing")
    with pytest.raises(NetworkError, match="cannot read"):
        watch.read()


async def test_ops_interface_reports_link_and_network(private_bus: PrivateBus) -> None:
    bus = EventBus()
    service = DBusService(private_bus.address)
    service.export(OpsInterface(bus, "connecting"))
    await service.start()
    client = await connect(private_bus.address)
    try:
        introspection = await client.introspect(BUS_NAME, OBJECT_PATH)
        ops = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection).get_interface(
            OPS_INTERFACE
        )
        signals: asyncio.Queue[str] = asyncio.Queue()
        ops.on_link_changed(lambda state: signals.put_nowait(f"link {state}"))
        ops.on_network_changed(lambda state: signals.put_nowait(f"network {state}"))
        assert (await ops.get_link(), await ops.get_network()) == ("connecting", "unknown")

        bus.publish(OpsLinkChanged("connected", "", 0))
        assert await asyncio.wait_for(signals.get(), 3) == "link connected"
        bus.publish(OpsLinkChanged("connected", "", 0))  # no change, no signal
        bus.publish(NetworkChanged(ONLINE))
        assert await asyncio.wait_for(signals.get(), 3) == "network online"
        bus.publish(OpsLinkChanged("waiting", "connection refused", 1))
        assert await asyncio.wait_for(signals.get(), 3) == "link waiting"
        assert (await ops.get_link(), await ops.get_network()) == ("waiting", ONLINE)
    finally:
        await close(client)
        await service.stop()
