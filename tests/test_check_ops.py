"""The check's ops side against a real ops site (harness.opssite: the site CA and
mosquitto with the shipped TLS listener and ACL): the network stage reaches the broker
over TLS with the kiosk's client certificate and reports the broker certificate's days
left; the UPS (a simulated Megatec UPS on a pty) gives its reading; the kept acceptance
report reaches ops through ``acceptance.report``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from pathlib import Path

from govkiosk.cli import acceptance
from govkiosk.cli.check import FAIL, PASS, Options, run_checks
from govkiosk.devices.simhost import serve_pty
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.devices.ups.state import UpsStateChanged
from govkiosk.fleet.client import FleetClient
from govkiosk.ops.envelope import Reply, Status
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, running_kiosk
from harness.opssite import Site

TIMEOUT = 20.0
UPS = """
[ups]
poll_interval = 0.05
timeout = 0.5
dry_run = true

[[devices.static]]
role = "ups"
port = "{ups}"
"""


async def test_the_broker_is_checked_over_tls_and_ops_reads_the_report(
    site: Site, private_bus: PrivateBus, tmp_path: Path
) -> None:
    directory = tmp_path / "kiosk"
    with contextlib.closing(serve_pty(MegatecSimulator(UpsModel()))) as ups:
        extra = UPS.format(ups=ups.path)
        async with running_kiosk(site, directory, private_bus.address, extra) as kiosk:
            with kiosk.daemon.bus.stream(UpsStateChanged) as readings:
                await kiosk.connected()
                await asyncio.wait_for(readings.get(), TIMEOUT)
            async with FleetClient(site.identity("ops-admin")) as fleet:
                await fleet.follow([KIOSK])

                async def report() -> Reply:
                    replies = await fleet.run(
                        site.signers["viewer"], [KIOSK], "acceptance.report", {},
                        role="viewer", issuer="t", timeout=TIMEOUT,
                    )  # fmt: skip
                    reply = replies[KIOSK]
                    assert reply is not None, "no reply"
                    return reply

                before = await report()
                assert before.status is Status.FAILED
                assert "govkioskctl check" in before.detail

                options = Options(
                    config=directory / "govkiosk.toml",
                    state_dir=directory / "state",
                    bus=private_bus.address,
                    stages=("network", "deployment", "devices"),
                    operator="李工",
                )
                info, checks = await run_checks(options)
                broker = next(c for c in checks if c.name == "ops broker")
                assert broker.status == PASS, broker
                assert "TLS ok" in broker.detail
                assert "days left" in broker.detail
                assert not [c for c in checks if c.status == FAIL]
                ups_check = next(c for c in checks if c.name == "UPS reading")
                assert ups_check.status == PASS
                assert ups_check.detail.startswith("ups@")
                now = datetime.datetime.now(datetime.timezone.utc)
                kept = acceptance.build(info, checks, options.stages, options.operator, now)
                acceptance.keep(kept, options.state_dir, options.config)

                after = await report()
    assert after.status is Status.SUCCEEDED, after.detail
    result = after.result
    assert result["report"] == kept
    assert result["report"]["operator"] == "李工"
    assert result["report"]["kiosk_id"] == KIOSK
    assert result["signature"]["alg"] in ("ed25519", "none")
