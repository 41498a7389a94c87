"""The ops link around the commands: ACL confinement, broker restarts, the offline queue,
the shadow, telemetry and alarms."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Dict

from govkiosk.bus import Alarm, Severity
from govkiosk.contract.connection import close
from govkiosk.fleet.client import FleetClient, command_body, seal_command, seal_desired
from govkiosk.ops.envelope import Status, topic
from govkiosk.ops.link import LinkState
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.logind import serve_logind
from harness.opskiosk import KIOSK, running_kiosk
from harness.opssite import Site, next_payload, raw

TIMEOUT = 20.0
CATALOGUE = Path(__file__).resolve().parent.parent / "daemon/govkiosk/items/data/catalogue.toml"


async def test_a_kiosk_cannot_touch_another_kiosks_topics(site: Site) -> None:
    async with raw(site.identity("kiosk-a"), "kiosk-a") as a, raw(
        site.identity("ops-admin"), "ops"
    ) as ops:
        await ops.subscribe("kiosk/v1/#", qos=1)
        # Writing as kiosk-b: its state, a reply, an alarm, even a command to it.
        for name in ("state", "cmd/res/x", "evt/alarm", "telemetry", "cmd/req"):
            await a.publish(f"kiosk/v1/kiosk-b/{name}", b"forged", qos=1)
        # Reading kiosk-b's commands.
        await a.subscribe("kiosk/v1/kiosk-b/cmd/req", qos=1)
        await ops.publish("kiosk/v1/kiosk-b/cmd/req", b"for b only", qos=1)
        await ops.publish("kiosk/v1/kiosk-a/cmd/req", b"for a", qos=1)
        await a.subscribe("kiosk/v1/kiosk-a/cmd/req", qos=1)
        await ops.publish("kiosk/v1/kiosk-a/cmd/req", b"for a, subscribed", qos=1)
        await a.publish("kiosk/v1/kiosk-a/evt/sentinel", b"own", qos=1)
        # Everything published before the sentinel arrives before it; ops reads no cmd/req.
        seen = [await next_payload(ops)]
        while seen[-1]["payload"] != b"own":
            seen.append(await next_payload(ops))
        got = await next_payload(a)
    assert seen == [{"topic": "kiosk/v1/kiosk-a/evt/sentinel", "payload": b"own"}]
    assert got == {"topic": "kiosk/v1/kiosk-a/cmd/req", "payload": b"for a, subscribed"}
    # A kiosk cannot write commands or desired shadows, even to itself.
    async with raw(site.identity("kiosk-a"), "kiosk-a") as a, raw(
        site.identity("ops-admin"), "ops"
    ) as ops:
        await ops.subscribe("kiosk/v1/kiosk-a/#", qos=1)
        await a.publish("kiosk/v1/kiosk-a/shadow/desired", b"forged", qos=1)
        await a.publish("kiosk/v1/kiosk-a/cmd/req", b"forged", qos=1)
        await a.publish("kiosk/v1/kiosk-a/evt/sentinel", b"own", qos=1)
        assert (await next_payload(ops))["payload"] == b"own"


async def test_broker_restart_mid_command(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    logind_bus, logind = await serve_logind(private_bus.address)
    signer = site.signers["operator"]
    try:
        async with running_kiosk(
            site, tmp_path / "kiosk", private_bus.address, logind_bus=private_bus.address
        ) as kiosk:
            await kiosk.connected()
            document = command_body(
                signer,
                KIOSK,
                "reboot",
                {},
                role="operator",
                issuer="t",
                now=time.time(),
                reply_to="ops-admin",
            )
            payload = seal_command(signer, document)
            async with kiosk.runtime.activity.busy("session"):
                async with FleetClient(site.identity("ops-admin")) as fleet:
                    await fleet.follow([KIOSK])
                    queue = await fleet.send_payload(KIOSK, document["cmd_id"], payload)
                    assert (await asyncio.wait_for(queue.get(), TIMEOUT)).status is Status.ACCEPTED
                site.broker.stop()
                await eventually(
                    lambda: kiosk.link_states[-1] == LinkState.WAITING.value, "link down", TIMEOUT
                )
            # The citizen left while the broker was away: the reboot runs, its reply waits.
            await eventually(lambda: logind.reboot_calls == [False], "rebooted", TIMEOUT)
            service = kiosk.daemon.supervisor._services["ops"]
            await eventually(lambda: service.outbox.size >= 1, "reply queued", TIMEOUT)  # type: ignore[attr-defined]
            await asyncio.get_running_loop().run_in_executor(None, site.broker.start)
            await kiosk.connected()
            await eventually(lambda: service.outbox.size == 0, "queue flushed", TIMEOUT)  # type: ignore[attr-defined]
            # The operator, unsure, sends the same command again: the stored answer, no rerun.
            async with FleetClient(site.identity("ops-admin")) as fleet:
                await fleet.follow([KIOSK])
                queue = await fleet.send_payload(KIOSK, document["cmd_id"], payload)
                final = await fleet.final(queue, TIMEOUT)
            assert final.status is Status.SUCCEEDED
            assert logind.reboot_calls == [False]
            assert LinkState.WAITING.value in kiosk.link_states
    finally:
        await close(logind_bus)


async def test_offline_queue_is_bounded_and_flushed_in_order(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    watcher_identity = site.identity("ops-watch")
    async with raw(watcher_identity, "watcher", clean=False) as watcher:
        await watcher.subscribe(topic(KIOSK, "evt", "alarm"), qos=1)
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, queue_limit=10
    ) as kiosk:
        await kiosk.connected()
        site.broker.stop()
        await eventually(
            lambda: kiosk.link_states[-1] == LinkState.WAITING.value, "link down", TIMEOUT
        )
        service: Any = kiosk.daemon.supervisor._services["ops"]
        for n in range(15):
            kiosk.daemon.bus.publish(Alarm("test", f"code{n}", Severity.WARNING, f"alarm {n}"))
        # Alarms are never dropped: the queue holds them past its limit (telemetry, not
        # sent here, would be shed first: tests/test_fault_io_broker.py).
        await eventually(lambda: service.outbox.size == 15, "every alarm queued", TIMEOUT)
        assert service.outbox.dropped == 0
        await asyncio.get_running_loop().run_in_executor(None, site.broker.start)
        await kiosk.connected()
        await eventually(lambda: service.outbox.size == 0, "queue flushed", TIMEOUT)
    async with raw(watcher_identity, "watcher", clean=False) as watcher:
        codes = [json.loads((await next_payload(watcher))["payload"])["code"] for _ in range(15)]
    assert codes == [f"code{n}" for n in range(15)]


async def test_shadow_converges_only_to_newer_signed_versions(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    admin = site.signers["admin"]
    async with running_kiosk(site, tmp_path / "kiosk", private_bus.address) as kiosk, raw(
        site.identity("ops-admin"), "ops"
    ) as ops:
        await kiosk.connected()
        await ops.subscribe(topic(KIOSK, "shadow", "reported"), qos=1)
        first = json.loads((await next_payload(ops))["payload"])  # the birth's report
        assert first["versions"]["config"] == 0

        async def desire(payload: bytes) -> Dict[str, Any]:
            await ops.publish(topic(KIOSK, "shadow", "desired"), payload, qos=1, retain=True)
            return json.loads((await next_payload(ops))["payload"])

        config = {"config": {"version": 2, "values": {"kiosk": {"name": "影子"}}}}
        report = await desire(seal_desired(admin, KIOSK, config, role="admin", issuer="t"))
        assert report["outcomes"]["config"]["status"] == "applied"
        assert report["versions"]["config"] == 2
        assert kiosk.runtime.config.kiosk.name == "影子"

        catalogue = {
            **config,
            "catalogue": {"version": 1, "document": CATALOGUE.read_text("utf-8")},
        }
        report = await desire(seal_desired(admin, KIOSK, catalogue, role="admin", issuer="t"))
        assert report["outcomes"]["catalogue"]["status"] == "applied"
        assert report["catalogue_version"] == 1
        assert report["outcomes"]["config"]["version"] == 2  # not applied again

        older = {"config": {"version": 1, "values": {"kiosk": {"name": "旧"}}}}
        await ops.publish(
            topic(KIOSK, "shadow", "desired"),
            seal_desired(admin, KIOSK, older, role="admin", issuer="t"),
            qos=1,
            retain=True,
        )
        forged = seal_desired(
            site.signers["operator"],
            KIOSK,
            {"config": {"version": 9, "values": {}}},
            role="admin",
            issuer="t",
        )
        report = await desire(forged)
        assert report["outcomes"]["desired"]["status"] == "rejected"
        assert kiosk.runtime.config.kiosk.name == "影子"
        await ops.publish(topic(KIOSK, "shadow", "desired"), b"", qos=1, retain=True)


async def test_telemetry_and_alarms_reach_the_fleet_view(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, telemetry_interval=0.2
    ) as kiosk, FleetClient(site.identity("ops-watch"), subscribe_all=True) as fleet:
        await kiosk.connected()
        await eventually(lambda: fleet.view.row(KIOSK).services != "", "telemetry", TIMEOUT)
        kiosk.daemon.bus.publish(Alarm("usbseal", "tamper", Severity.CRITICAL, "hub replaced"))
        await eventually(lambda: fleet.view.row(KIOSK).alarms == 1, "alarm", TIMEOUT)
        row = fleet.view.row(KIOSK)
        assert row.online is True
        assert row.last_alarm == "critical:tamper"
        assert row.certificate is not None
    async with FleetClient(site.identity("ops-watch"), subscribe_all=True) as fleet:
        await eventually(lambda: fleet.view.row(KIOSK).online is False, "offline state", TIMEOUT)
