"""Every ops method end to end: signed command over TLS → daemon → real action → signed reply.

Behind the daemon: the receipt printer and UPS simulators on ptys, a USB maintenance rule,
and on the private bus a stand-in logind (it cannot run here) and a stand-in UI (the real
one answers in tests/test_ui_ops.py and tests/test_demo_ops.py; a window per test here
would be slow).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, NamedTuple, Optional

import pytest

from govkiosk.bus import ConfigReloaded
from govkiosk.contract.connection import close
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.devices.ups.state import UpsStateChanged
from govkiosk.fleet.client import FleetClient, command_body
from govkiosk.ops.envelope import Reply, Status
from govkiosk.ops.methods import EXIT_RESTART
from govkiosk.runtime import Runtime
from govkiosk.session.state import SessionEnded
from govkiosk.supervisor import Service
from harness.dbus import PrivateBus
from harness.events import next_matching
from harness.logind import FakeLogind, serve_logind
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site
from harness.uistandin import PNG, UiStandIn, serve_ui

TIMEOUT = 20.0
TOKEN = "engineer-token-1"

DEVICES = """
[receipt]
status_timeout = 0.3
job_timeout = 3.0
poll_interval = 0.05
idle_poll_interval = 0.05

[ups]
poll_interval = 0.05
timeout = 0.5
dry_run = true

[[devices.static]]
role = "receipt_printer"
port = "{printer}"

[[devices.static]]
role = "ups"
port = "{ups}"
"""


class Bench(NamedTuple):
    site: Site
    kiosk: Kiosk
    fleet: FleetClient
    logind: FakeLogind
    ui: UiStandIn
    ups: UpsModel


class BrokenByName(Service):
    """A subsystem that cannot work with one particular configuration (for the rollback)."""

    name = "fragile"

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._changed = asyncio.Event()
        runtime.bus.subscribe(ConfigReloaded, lambda _e: self._changed.set())

    async def start(self) -> None:
        self._check()

    async def serve(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            self._check()

    def _check(self) -> None:
        if self._runtime.config.kiosk.name == "broken":
            raise RuntimeError("cannot work with this name")


@pytest.fixture
async def bench(site: Site, private_bus: PrivateBus, tmp_path: Path) -> AsyncIterator[Bench]:
    printer = serve_pty(SimConnection(SimPrinter()))
    model = UpsModel()
    ups = serve_pty(MegatecSimulator(model))
    logind_bus, logind = await serve_logind(private_bus.address)
    ui_bus, ui = await serve_ui(private_bus.address)
    directory = tmp_path / "kiosk"
    rules = directory / "usb.rules"
    (directory / "conf.d").mkdir(parents=True)
    rules.write_text("maintenance engineer_storage via-port 1-8 with-interface 08:06:50\n")
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    (directory / "conf.d" / "20-usb.toml").write_text(
        f'[devices.usb]\nrules = "{rules}"\noperators = ["engineer:{digest}"]\n'
    )
    try:
        async with running_kiosk(
            site,
            directory,
            private_bus.address,
            DEVICES.format(printer=printer.path, ups=ups.path),
            ui_bus=private_bus.address,
            logind_bus=private_bus.address,
        ) as kiosk:
            kiosk.daemon.supervisor.add(BrokenByName(kiosk.runtime))
            await kiosk.connected()
            async with FleetClient(site.identity("ops-admin")) as fleet:
                await fleet.follow([KIOSK])
                yield Bench(site, kiosk, fleet, logind, ui, model)
    finally:
        for bus in (logind_bus, ui_bus):
            await close(bus)
        printer.close()
        ups.close()


async def call(
    bench: Bench,
    role: str,
    method: str,
    params: Optional[Dict[str, Any]] = None,
    secrets: Optional[Dict[str, str]] = None,
) -> Reply:
    replies = await bench.fleet.run(
        bench.site.signers[role],
        [KIOSK],
        method,
        params or {},
        role=role,
        issuer="t",
        timeout=TIMEOUT,
        secrets=secrets,
    )
    reply = replies[KIOSK]
    assert reply is not None, f"{method}: no reply"
    return reply


async def succeeded(
    bench: Bench,
    as_role: str,
    method: str,
    secrets: Optional[Dict[str, str]] = None,
    **params: Any,
) -> Dict[str, Any]:
    reply = await call(bench, as_role, method, params, secrets)
    assert reply.status is Status.SUCCEEDED, f"{method}: {reply.detail}"
    return reply.result


async def wait_for_devices(bench: Bench) -> None:
    for _ in range(500):
        rows = (await succeeded(bench, "viewer", "devices"))["devices"]
        if {r["role"] for r in rows} >= {"receipt_printer", "ups"} and bench.kiosk.daemon.devices:
            printers = (await succeeded(bench, "viewer", "status"))["printers"]
            if any(p["state"] == "ready" for p in printers.values()):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("devices did not come up")


async def test_reading_methods(bench: Bench) -> None:
    bench.kiosk.daemon.bus.publish(SessionEnded("no_criminal_record", "done", "", 42.0))
    bench.kiosk.daemon.bus.publish(SessionEnded("id_card_print", "cancelled", "", 3.0))
    status = await succeeded(bench, "viewer", "status")
    assert status["kiosk"]["id"] == KIOSK
    assert {"services", "devices", "ups", "disk", "uptime", "config_hash"} <= set(status)
    assert status["counts"]["sessions"] == {"done": 1, "cancelled": 1}
    await wait_for_devices(bench)
    roles = {d["role"] for d in (await succeeded(bench, "viewer", "devices"))["devices"]}
    assert {"receipt_printer", "ups"} <= roles
    shot = await succeeded(bench, "operator", "screenshot")
    assert base64.b64decode(shot["png"]) == PNG
    tail = await succeeded(bench, "auditor", "ops_log.tail", lines=10, kind="command")
    assert [e["code"] for e in tail["entries"]][-1] == "ops_log.tail"
    assert {e["code"] for e in tail["entries"]} >= {"status", "devices", "screenshot"}


async def test_screenshot_refused_while_a_citizen_is_served(bench: Bench) -> None:
    async with bench.kiosk.runtime.activity.busy("session"):
        reply = await call(bench, "operator", "screenshot")
    assert reply.status is Status.FAILED
    assert "citizen" in reply.detail


async def test_device_actions(bench: Bench) -> None:
    await wait_for_devices(bench)
    printed = await succeeded(bench, "operator", "printer.test")
    assert printed["outcome"] == "printed"
    with bench.kiosk.daemon.bus.stream(UpsStateChanged) as states:
        await succeeded(bench, "operator", "ups.selftest")
        await next_matching(states, lambda e: e.state.self_test_running, TIMEOUT)

    opened = await succeeded(
        bench,
        "operator",
        "usb.maintenance.open",
        secrets={"token": TOKEN},
        port="1-8",
        minutes=5,
        role="engineer",
    )
    assert opened["port"] == "1-8"
    await succeeded(
        bench,
        "operator",
        "usb.maintenance.close",
        secrets={"token": TOKEN},
        port="1-8",
        role="engineer",
    )
    usb = {"port": "1-8", "minutes": 5, "role": "engineer"}
    wrong = await call(bench, "operator", "usb.maintenance.open", usb, {"token": "x"})
    assert wrong.status is Status.FAILED
    in_clear = await call(bench, "operator", "usb.maintenance.open", {**usb, "token": TOKEN})
    assert (in_clear.status, in_clear.detail) == (
        Status.FAILED,
        "expected a sealed parameter {epk, nonce, ct}",
    )
    log = await succeeded(bench, "auditor", "ops_log.tail", lines=50)
    assert TOKEN not in str(log)
    assert "<withheld>" in str(log)


async def test_ui_restart_and_reboot_wait_until_idle(bench: Bench) -> None:
    await succeeded(bench, "operator", "ui.restart")
    assert bench.ui.restarts == 1

    activity = bench.kiosk.runtime.activity
    async with activity.busy("session"):
        queue = await bench.fleet.send(
            bench.site.signers["operator"],
            command_body(
                bench.site.signers["operator"],
                KIOSK,
                "reboot",
                {},
                role="operator",
                issuer="t",
                now=time.time(),
            ),
        )
        accepted = await asyncio.wait_for(queue.get(), TIMEOUT)
        assert accepted.status is Status.ACCEPTED
        await asyncio.sleep(0.3)
        assert bench.logind.reboot_calls == []  # a citizen is being served
    final = await bench.fleet.final(queue, TIMEOUT)
    assert final.status is Status.SUCCEEDED, final.detail
    assert bench.logind.reboot_calls == [False]


async def test_config_set_applies_refuses_and_rolls_back(bench: Bench) -> None:
    runtime = bench.kiosk.runtime
    dropin = bench.kiosk.directory / "conf.d" / "90-ops.toml"

    result = await succeeded(bench, "admin", "config.set", values={"kiosk": {"name": "一号机"}})
    assert runtime.config.kiosk.name == "一号机"
    assert 'name = "一号机"' in dropin.read_text(encoding="utf-8")
    assert result["config_hash"]

    for values, why in [
        ({"ops": {"host": "elsewhere"}}, "not settable remotely"),
        ({"kiosk": {"region": "abc"}}, "would not be valid"),
    ]:
        reply = await call(bench, "admin", "config.set", {"values": values})
        assert reply.status is Status.FAILED
        assert why in reply.detail
    assert runtime.config.kiosk.name == "一号机"

    reply = await call(bench, "admin", "config.set", {"values": {"kiosk": {"name": "broken"}}})
    assert reply.status is Status.FAILED
    assert "rolled back: service fragile failed" in reply.detail
    assert runtime.config.kiosk.name == "一号机"
    assert 'name = "一号机"' in dropin.read_text(encoding="utf-8")

    denied = await call(bench, "operator", "config.set", {"values": {"kiosk": {"name": "x"}}})
    assert (denied.status, denied.reason) == (Status.REJECTED, "role_denied")


async def test_daemon_restart_exits_for_systemd(bench: Bench) -> None:
    await succeeded(bench, "admin", "daemon.restart")
    task = bench.kiosk.task
    assert task is not None
    assert await asyncio.wait_for(task, TIMEOUT) == EXIT_RESTART


CATALOGUE = Path(__file__).resolve().parent.parent / "daemon/govkiosk/items/data/catalogue.toml"


async def test_item_lifecycle_methods(bench: Bench) -> None:
    catalogue = CATALOGUE.read_text(encoding="utf-8")
    synced = await succeeded(bench, "admin", "items.sync", role="office", catalogue=catalogue)
    assert synced == {"changed": []}  # the kiosk already publishes this list
    application = {"reason": "政策调整", "plan": "更新材料清单", "function": "打印证明"}
    applied = await succeeded(
        bench, "admin", "items.apply", role="department", kind="change",
        code="no_criminal_record", application=application,
    )  # fmt: skip
    assert (applied["code"], applied["state"]) == ("no_criminal_record", "applied")
    wrong = await call(
        bench, "admin", "items.evaluate",
        {
            "role": "department",
            "code": "no_criminal_record",
            "evaluation": {"approved": True, "necessity": "需要", "feasibility": "可行"},
        },
    )  # fmt: skip
    assert wrong.status is Status.FAILED
    assert "department" in wrong.detail
    denied = await call(bench, "operator", "items.publish", {"role": "department", "code": "x"})
    assert (denied.status, denied.reason) == (Status.REJECTED, "role_denied")
