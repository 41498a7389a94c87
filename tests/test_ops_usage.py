"""Usage and 好差评 counts for ops: the daemon (harness.opskiosk) counts the session's
events into SQLite; ops reads them in telemetry and ``status`` over a real mosquitto (TLS
and the shipped ACL), with the ``stats`` command, and locally with ``govkioskctl stats``
and ``Maintenance1.Statistics``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, Dict

import pytest
from dbus_next.errors import DBusError

from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, ERROR_PREFIX, MAINTENANCE_INTERFACE, OBJECT_PATH
from govkiosk.evaluation.events import EvaluationGiven
from govkiosk.fleet.client import FleetClient
from govkiosk.maintenance.pin import hash_pin
from govkiosk.ops.envelope import Status, topic
from govkiosk.session.state import SessionEnded
from harness.dbus import PrivateBus
from harness.govkioskd import BIN
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site, next_payload, raw

TIMEOUT = 20.0
PIN = "246810"
CTL = BIN / "govkioskctl"
#: What the events below add up to: only catalogue items are reported.
EXPECTED = {
    "id_card_print": {
        "sessions": {"done": 2, "walked_away": 1},
        "evaluations": {"5": 1, "1": 1},
        "reasons": {"device_fault": 1, "other": 1},
    },
    "household_register_print": {
        "sessions": {"failed": 1},
        "evaluations": {},
        "reasons": {},
    },
}


def count_sessions(kiosk: Kiosk) -> None:
    """The session's own events, as a day of citizens would publish them."""
    bus = kiosk.daemon.bus
    for item, outcome in (
        ("id_card_print", "done"),
        ("id_card_print", "done"),
        ("id_card_print", "walked_away"),
        ("household_register_print", "failed"),
        ("an_item_no_longer_offered", "done"),
    ):
        bus.publish(SessionEnded(item, outcome, "", 12.5))
    bus.publish(EvaluationGiven("id_card_print", 5, ()))
    bus.publish(EvaluationGiven("id_card_print", 1, ("device_fault", "other")))


def usage_of(document: Dict[str, Any]) -> Dict[str, Any]:
    items: Dict[str, Any] = document.get("usage", {}).get("items", {})
    return items


@pytest.fixture
def extra() -> str:
    return f'\n[maintenance]\npin_hash = "{hash_pin(PIN, iterations=1000)}"\n'


async def test_telemetry_status_and_stats_carry_the_counts(
    site: Site, private_bus: PrivateBus, tmp_path: Path, extra: str
) -> None:
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, extra, telemetry_interval=0.2
    ) as kiosk, raw(site.identity("ops-watch"), "dashboard") as dashboard:
        await kiosk.connected()
        await dashboard.subscribe(topic(KIOSK, "telemetry"), qos=1)
        count_sessions(kiosk)
        telemetry: Dict[str, Any] = {}
        while usage_of(telemetry) != EXPECTED:
            message = await next_payload(dashboard)
            telemetry = json.loads(message["payload"])
        assert telemetry["usage"]["first_day"] == telemetry["usage"]["last_day"] != ""
        # Upkeep (upkeep/): consumables and availability ride along, nothing personal.
        upkeep = telemetry["upkeep"]
        assert [c["name"] for c in upkeep["consumables"]] == ["receipt", "a4"]
        assert upkeep["availability"]["24h"] == 100.0

        async with FleetClient(site.identity("ops-admin")) as fleet:
            for role, method, params in (
                ("viewer", "status", {}),
                ("auditor", "stats", {}),
                ("viewer", "stats", {"days": 1}),
            ):
                replies = await fleet.run(
                    site.signers[role], [KIOSK], method, params, role=role, issuer="t",
                    timeout=TIMEOUT,
                )  # fmt: skip
                reply = replies[KIOSK]
                assert reply is not None
                assert reply.status is Status.SUCCEEDED, reply.detail
                result = reply.result if method == "stats" else reply.result["usage"]
                if method == "status":
                    assert set(reply.result["upkeep"]) == {
                        "selftest",
                        "consumables",
                        "availability",
                    }
                assert result["items"] == EXPECTED
            replies = await fleet.run(
                site.signers["viewer"], [KIOSK], "stats", {"days": -1}, role="viewer",
                issuer="t", timeout=TIMEOUT,
            )  # fmt: skip
            reply = replies[KIOSK]
            assert reply is not None
            assert reply.status is Status.FAILED
            assert "params.days" in reply.detail

        # Locally: govkioskctl (the engineers' tool) and the maintenance screen.
        ctl = await asyncio.create_subprocess_exec(
            str(CTL), "--bus", private_bus.address,
            "stats", "--days", "7", "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(ctl.communicate(), TIMEOUT)
        assert ctl.returncode == 0, err
        report = json.loads(out)
        # The local tool reports every item counted, the catalogue's or not.
        assert {k: v for k, v in report["items"].items() if k in EXPECTED} == EXPECTED
        assert report["items"]["an_item_no_longer_offered"]["sessions"] == {"done": 1}
        ctl = await asyncio.create_subprocess_exec(
            str(CTL), "--bus", private_bus.address, "stats",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(ctl.communicate(), TIMEOUT)
        assert ctl.returncode == 0, err
        line = next(r for r in out.decode().splitlines() if r.startswith("id_card_print"))
        assert line.split()[1:11] == ["2", "0", "0", "1", "2", "1", "0", "0", "0", "1"]

        bus = await connect(private_bus.address)
        try:
            introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
            proxy = bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
            maintenance = proxy.get_interface(MAINTENANCE_INTERFACE)
            with pytest.raises(DBusError) as refused:
                await maintenance.call_statistics("not-a-token", 0)
            assert refused.value.type.startswith(ERROR_PREFIX)
            token, _seconds = await maintenance.call_login(PIN)
            _first, _last, rows = await maintenance.call_statistics(token, 0)
            by_item = {row[0]: row[1:] for row in rows}
            assert by_item["id_card_print"] == [
                {"done": 2, "walked_away": 1},
                {"5": 1, "1": 1},
                {"device_fault": 1, "other": 1},
            ]
            # The operator records a new receipt roll behind the PIN.
            with pytest.raises(DBusError) as refused:
                await maintenance.call_refill_consumable("not-a-token", "receipt")
            assert refused.value.type.startswith(ERROR_PREFIX)
            assert await maintenance.call_refill_consumable(token, "receipt") == 100.0
            with pytest.raises(DBusError) as unknown:
                await maintenance.call_refill_consumable(token, "toner")
            assert unknown.value.type == ERROR_PREFIX + "UnknownConsumable"
        finally:
            await close(bus)

        # A database that cannot answer does not take status (or telemetry) down with it.
        database = sqlite3.connect(str(tmp_path / "kiosk/state/govkiosk.sqlite3"))
        database.execute("DROP TABLE usage_sessions")
        database.close()
        async with FleetClient(site.identity("ops-admin")) as fleet:
            replies = await fleet.run(
                site.signers["viewer"], [KIOSK], "status", {}, role="viewer", issuer="t",
                timeout=TIMEOUT,
            )  # fmt: skip
        reply = replies[KIOSK]
        assert reply is not None
        assert reply.status is Status.SUCCEEDED, reply.detail
        assert "usage_sessions" in reply.result["usage"]["unavailable"]
        assert reply.result["kiosk"]["id"] == KIOSK
