"""The acceptance report reaches ops, and the new maintenance commands: the daemon (with
its ops link to a real mosquitto over TLS) takes ``govkioskctl check``'s signed report,
keeps it and publishes ``evt/acceptance``, which a watcher verifies with the kiosk's
certificate and the kiosk's Ed25519 key; a report not signed by the kiosk or holding an ID
number is refused; ``selftest.run`` and ``consumables.refill`` run for an operator and are
refused to a viewer."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any, AsyncIterator, Dict, NamedTuple

import pytest
from cryptography.exceptions import InvalidSignature
from dbus_next.aio import MessageBus
from dbus_next.errors import DBusError

from govkiosk.backends.signing import load_private_key
from govkiosk.cli import acceptance as report_files
from govkiosk.cli.acceptance import Check
from govkiosk.cli.check import submit
from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import BUS_NAME, MAINTENANCE_INTERFACE, OBJECT_PATH
from govkiosk.fleet.client import FleetClient
from govkiosk.ops.acceptance import problems
from govkiosk.ops.envelope import Status, topic
from govkiosk.ops.signing import load_certificate, open_document
from harness.dbus import PrivateBus
from harness.departments import KEY_ID, KioskKey
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site, next_payload, raw

TIMEOUT = 20.0
ACCEPTANCE = topic(KIOSK, "evt", "acceptance")


class Bench(NamedTuple):
    site: Site
    kiosk: Kiosk
    fleet: FleetClient
    key: KioskKey
    config: Path
    state_dir: Path


@pytest.fixture
async def bench(site: Site, private_bus: PrivateBus, tmp_path: Path) -> AsyncIterator[Bench]:
    directory = tmp_path / "kiosk"
    directory.mkdir()
    key = KioskKey(directory)
    extra = f'\n[backends]\nkey_file = "{key.private_path}"\nkey_id = "{KEY_ID}"\n'
    async with running_kiosk(site, directory, private_bus.address, extra) as kiosk:
        await kiosk.connected()
        async with FleetClient(site.identity("ops-admin")) as fleet:
            await fleet.follow([KIOSK])
            yield Bench(site, kiosk, fleet, key, directory / "govkiosk.toml", directory / "state")


def report(detail: str = "a picture came") -> Dict[str, Any]:
    checks = [
        Check("devices", "camera snapshot doc_camera", "pass", detail),
        Check("devices", "UPS self-test", "fail", "ups@x: failed: battery low", "replace it"),
        # an item's row as the items stage writes it: its test mode and reference
        Check(
            "items",
            "no_criminal_record 无犯罪记录证明",
            "pass",
            "fetch+seal+preview: reference TEST-GA23010020261206140610, 1 page",
            mode="full",
            reference="TEST-GA23010020261206140610",
        ),
    ]
    info = {"kiosk_id": KIOSK, "name": "测试政务服务中心 1号机", "hall": "", "version": "t"}
    now = datetime.datetime(2026, 12, 6, 8, 30, tzinfo=datetime.timezone.utc)
    return report_files.build(info, checks, ("devices",), "张工", now)


async def maintenance(bus: MessageBus) -> Any:
    introspection = await bus.introspect(BUS_NAME, OBJECT_PATH)
    return bus.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection).get_interface(
        MAINTENANCE_INTERFACE
    )


async def test_a_report_reaches_the_broker_signed_and_verifiable(
    bench: Bench, private_bus: PrivateBus
) -> None:
    written = report_files.keep(report(), bench.state_dir, bench.config)
    async with raw(bench.site.identity("ops-watch"), "watch") as watch:
        await watch.subscribe(topic(KIOSK, "state"), qos=1)
        state = json.loads((await next_payload(watch))["payload"])  # retained: the birth
        await watch.subscribe(ACCEPTANCE, qos=1)
        said = await submit(private_bus.address, written, 5.0)
        message = await next_payload(watch)
    assert said.startswith("handed to the daemon for ops"), said
    assert message["topic"] == ACCEPTANCE
    # the whole message: signed by the kiosk's certificate key (as its replies are)
    document = open_document(
        message["payload"], ACCEPTANCE, load_certificate(state["cert"].encode())
    )
    assert document["kiosk_id"] == KIOSK
    [json_file] = [p for p in written if p.suffix == ".json"]
    assert document["name"] == json_file.name
    data = base64.b64decode(document["report"])
    assert data == json_file.read_bytes()
    # the report itself: the kiosk's Ed25519 key (the one the departments enrolled)
    assert document["signature"]["key_id"] == KEY_ID
    public = load_private_key(bench.key.private_path).public_key()
    public.verify(base64.b64decode(document["signature"]["value"]), data)
    sent = json.loads(data)
    assert sent["result"] == "fail"
    assert problems(sent) == []  # no personal data left the kiosk
    # a forged copy does not verify
    with pytest.raises(InvalidSignature):
        public.verify(
            base64.b64decode(document["signature"]["value"]), data.replace(b"fail", b"pass")
        )
    # kept once, in the ops log too
    assert (bench.state_dir / "reports" / json_file.name).read_bytes() == data
    log = await bench.kiosk.runtime.store.fetchall(
        "SELECT code FROM ops_log WHERE kind = 'acceptance'"
    )
    assert [row[0] for row in log] == [json_file.name]


async def test_a_report_not_signed_by_the_kiosk_or_with_an_id_number_is_refused(
    bench: Bench, private_bus: PrivateBus, tmp_path: Path
) -> None:
    good = json.dumps(report(), ensure_ascii=False, indent=2).encode("utf-8")
    stranger = KioskKey(tmp_path)
    personal = json.dumps(
        report("read card of 230102199003071234"), ensure_ascii=False, indent=2
    ).encode("utf-8")
    name = "acceptance-test-hlj-0001-20261206T083000.json"
    bus = await connect(private_bus.address)
    try:
        desk = await maintenance(bus)
        for data, signer, why in (
            (good, stranger.key, "the signature is not the kiosk's"),
            (personal, bench.key.key, "looks like personal data"),
        ):
            signature = base64.b64encode(signer.sign(data)).decode()
            with pytest.raises(DBusError, match=why):
                await desk.call_submit_acceptance(name, data.decode("utf-8"), signature)
    finally:
        await close(bus)
    assert not (bench.state_dir / "reports" / name).exists()


async def test_selftest_and_refill_run_for_an_operator_and_not_for_a_viewer(
    bench: Bench,
) -> None:
    async def run(role: str, method: str, params: Dict[str, Any]) -> Any:
        replies = await bench.fleet.run(
            bench.site.signers[role], [KIOSK], method, params, role=role, issuer="t",
            timeout=TIMEOUT,
        )  # fmt: skip
        reply = replies[KIOSK]
        assert reply is not None
        return reply

    selftest = await run("operator", "selftest.run", {})
    assert selftest.status is Status.SUCCEEDED, selftest.detail
    assert {c["name"] for c in selftest.result["checks"]} >= {"services", "disk"}
    refill = await run("operator", "consumables.refill", {"name": "a4"})
    assert refill.status is Status.SUCCEEDED, refill.detail
    assert refill.result["remaining_percent"] == 100.0
    unknown = await run("admin", "consumables.refill", {"name": "toner"})
    assert unknown.status is Status.FAILED
    for method, params in (("selftest.run", {}), ("consumables.refill", {"name": "receipt"})):
        denied = await run("viewer", method, params)
        assert (denied.status, denied.reason) == (Status.REJECTED, "role_denied")
