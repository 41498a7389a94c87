"""Attacks on remote operations by an insider of the site network, against a real
``govkioskd`` and mosquitto built from the shipped configuration and ACL
(docs/ops-threat-model.md): each one is refused or contained, and the legitimate path
still works."""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import ssl
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, List

import aiomqtt
import pytest
from cryptography.hazmat.primitives import serialization

from govkiosk.fleet.client import (
    FleetClient,
    FleetView,
    command_body,
    cosign,
    describe,
    seal_command,
)
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.sitebroker import BrokerTls, site_listener
from govkiosk.ops.envelope import Reply, Status, body_digest, topic
from govkiosk.ops.link import auth_refused, end_attempt
from govkiosk.ops.refusals import CommandRefused
from govkiosk.ops.remote_config import classify
from govkiosk.ops.sealed import seal_for
from govkiosk.ops.signing import OperatorSigner
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site, next_payload, raw

TIMEOUT = 20.0
FLOOD = 2000


@pytest.fixture(params=["mosquitto", pytest.param("nats", marks=pytest.mark.fleet)])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The site broker (mosquitto, the shipped ACL) or, for the same attacks, a three-node NATS
    cluster configured from the same ACL (docs/fleet-cluster.md)."""
    site = Site.create(tmp_path / "site", kind=request.param)
    yield site
    site.stop()


@pytest.fixture
async def kiosk(site: Site, private_bus: PrivateBus, tmp_path: Path) -> AsyncIterator[Kiosk]:
    async with running_kiosk(site, tmp_path / "kiosk", private_bus.address, dry_run=True) as k:
        await k.connected()
        yield k


@pytest.fixture
async def fleet(site: Site) -> AsyncIterator[FleetClient]:
    async with FleetClient(site.identity("ops-admin")) as client:
        await client.follow([KIOSK])
        yield client


def command(site: Site, method: str = "status", role: str = "viewer", **kw: Any) -> Dict[str, Any]:
    return command_body(
        site.signers[role], KIOSK, method, {}, role=role, issuer="t", now=time.time(), **kw
    )


async def status_answered(site: Site, fleet: FleetClient) -> Reply:
    document = command(site)
    reply = await fleet.final(await fleet.send(site.signers["viewer"], document), TIMEOUT)
    assert reply.status is Status.SUCCEEDED
    assert reply.cmd_digest == body_digest(document)
    return reply


async def test_no_certificate_takes_over_a_kiosks_session_by_its_client_id(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    states_before = len(kiosk.link_states)
    if site.kind == "nats":
        # NATS does not bind the client id to the certificate: the intruder pushes the kiosk
        # off, and the kiosk, reconnecting, pushes the intruder off. The intruder reads
        # nothing (the session's subscription is checked against its own permissions,
        # test_fleet_cluster.py), and the kiosk still answers (docs/fleet-cluster.md).
        for name in ("ops-watch", "kiosk-other"):
            intruder = raw(site.identity(name), KIOSK, clean=True)
            try:
                async with intruder:
                    await status_answered(site, fleet)
            except aiomqtt.MqttError:
                pass  # pushed off by the kiosk coming back
            finally:
                end_attempt(intruder)
        await kiosk.connected()
        await status_answered(site, fleet)
        return
    for name in ("ops-watch", "kiosk-other"):
        async with raw(site.identity(name), KIOSK, clean=True):
            # The kiosk still holds its session: it answers while the intruder is connected.
            await status_answered(site, fleet)
    assert kiosk.link_states[states_before:] == []


async def until_sentinel(client: Any) -> List[Dict[str, Any]]:
    seen: List[Dict[str, Any]] = [await next_payload(client)]
    while seen[-1]["payload"] != b"sentinel":
        seen.append(await next_payload(client))
    return seen


async def test_other_identities_never_see_a_command_or_its_replies(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    async with raw(site.identity("ops-watch"), "watch") as watch, raw(
        site.identity("ops-operator"), "operator"
    ) as operator:
        for client in (watch, operator):
            # Everything, then each kind of topic: a NATS cluster refuses a filter wider than
            # the identity's permissions whole (mosquitto filters it message by message).
            for name in ("kiosk/v1/#", "kiosk/v1/+/cmd/#", "kiosk/v1/+/cmd/req"):
                await client.subscribe(name, qos=1)
            await client.subscribe("kiosk/v1/+/evt/+", qos=1)
        document = command(site, "usb.maintenance.open", "operator")
        sealed = seal_for(fleet.view.row(KIOSK).certificate, "s3cret", document["cmd_id"])
        document["params"] = {"port": "1-1", "minutes": 5, "role": "usb", "token": sealed}
        await fleet.final(await fleet.send(site.signers["operator"], document), TIMEOUT)
        # The admin has its final reply: the broker has routed the command and every reply.
        async with raw(site.identity("kiosk-sentinel"), "sentinel") as sentinel:
            await sentinel.publish(topic("kiosk-sentinel", "evt", "x"), b"sentinel", qos=1)
        seen = await until_sentinel(watch) + await until_sentinel(operator)
        await operator.publish(topic(KIOSK, "evt", "probe"), b"x", qos=1)  # refused by the ACL
    names = [m["topic"] for m in seen]
    assert not any("/cmd/" in name for name in names), names
    assert all(b"s3cret" not in m["payload"] for m in seen)


async def test_a_racing_stranger_cannot_answer_for_the_kiosk(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    document = command(site)
    # Whoever learns a cmd_id publishes junk under it first: no signed REJECTED comes back.
    with kiosk.daemon.bus.stream(CommandRefused) as refusals:
        await fleet.send_payload(
            KIOSK, document["cmd_id"], b'{"cmd_id": "%s"}' % document["cmd_id"].encode()
        )
        queue = await fleet.send(site.signers["viewer"], document)
        reply = await fleet.final(queue, TIMEOUT)
        assert (await refusals.get()).reason == "malformed"
    assert reply.status is Status.SUCCEEDED


async def test_a_signed_command_reusing_a_cmd_id_does_not_answer_the_first(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    # Even with a key of its own, an attacker's reuse of a cmd_id gets its own answer,
    # bound to its own digest: the operator's client never takes it for theirs.
    mine = command(site, "reboot", "operator")
    theirs = {**command(site), "cmd_id": mine["cmd_id"]}
    attacker = await fleet.send(site.signers["viewer"], theirs)
    assert (await fleet.final(attacker, TIMEOUT)).cmd_digest == body_digest(theirs)
    reply = await fleet.final(await fleet.send(site.signers["operator"], mine), TIMEOUT)
    assert (reply.status, reply.reason) == (Status.REJECTED, "conflict")
    assert reply.cmd_digest == body_digest(mine)


async def test_outside_text_reaches_no_log_line_or_terminal_unescaped(
    site: Site, kiosk: Kiosk, fleet: FleetClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "x\nops: command abc SUCCEEDED\x1b[2K\x1b[1G\u202e"
    payload = json.dumps({**command(site), "sig": "AA==", forged: 1}).encode()
    with caplog.at_level(logging.INFO, logger="govkiosk"), kiosk.daemon.bus.stream(
        CommandRefused
    ) as refusals:
        await fleet.send_payload(KIOSK, "junk", payload)
        assert (await asyncio.wait_for(refusals.get(), TIMEOUT)).reason == "malformed"
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("govkiosk.ops")]
    assert any("unknown field(s): x\\x0aops" in line for line in lines), lines
    assert not any(c in line for line in lines for c in "\n\x1b\u202e")
    shown = describe(KIOSK, Reply("c", KIOSK, Status.FAILED, 0.0, detail=forged, cmd_digest="d"))
    assert "\x1b" not in shown
    assert "\n" not in shown


async def test_a_flood_keeps_the_command_history_and_the_log_small(
    site: Site, kiosk: Kiosk, fleet: FleetClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = await status_answered(site, fleet)
    forger = OperatorSigner.generate(site.signers["operator"].key_id)
    junk = [b"{not json", seal_command(forger, command(site, "reboot", "operator"))]
    async with raw(site.identity("ops-operator"), "flooder") as flooder:
        with caplog.at_level(logging.WARNING, logger="govkiosk"):
            for i in range(FLOOD):
                await flooder.publish(topic(KIOSK, "cmd", "req"), junk[i % 2], qos=0)
            after = await status_answered(site, fleet)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= 4, [r.getMessage() for r in warnings]
    rows = await kiosk.runtime.store.fetchall(
        "SELECT kind, detail FROM ops_log WHERE kind IN ('command', 'rejected') ORDER BY id"
    )
    commands = [json.loads(d)["cmd_id"] for k, d in rows if k == "command"]
    assert commands == [before.cmd_id, after.cmd_id]
    assert sum(1 for k, _d in rows if k == "rejected") <= 4


def test_the_tests_broker_listens_as_the_shipped_site_configuration() -> None:
    shipped = Path(__file__).resolve().parent.parent / "packaging/mosquitto/govkiosk-site.conf"
    lines = [line.split() for line in shipped.read_text().splitlines()]
    listener = [words for words in lines if words and not words[0].startswith("#")]
    start = next(i for i, words in enumerate(listener) if words[0] == "listener")
    end = next(i for i, words in enumerate(listener) if words[0] == "acl_file")
    files = ("cafile", "certfile", "keyfile", "acl_file", "listener")
    wanted = {w[0]: w[1:] for w in listener[start : end + 1] if w[0] not in files}
    tls = BrokerTls(Path("ca"), Path("cert"), Path("key"), Path("acl"))
    built = [line.split() for line in site_listener("127.0.0.1", 1, tls) if line[0] != "#"]
    assert {w[0]: w[1:] for w in built if w[0] not in files} == wanted


async def test_one_key_cannot_make_the_kiosk_work_without_bound(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    signer = site.signers["viewer"]
    with kiosk.daemon.bus.stream(CommandRefused, maxsize=1000) as refusals:
        for _ in range(100):  # far over [ops] command_burst, at once
            await fleet.send(signer, command(site))
        first = await asyncio.wait_for(refusals.get(), TIMEOUT)
    assert (first.reason, first.authenticated) == ("rate_limited", False)
    # Another key is not held up by the flooding one.
    document = command(site, "status", "operator")
    reply = await fleet.final(await fleet.send(site.signers["operator"], document), TIMEOUT)
    assert reply.status is Status.SUCCEEDED


async def config_set(
    site: Site, fleet: FleetClient, values: Dict[str, Any], cosigner: str = ""
) -> Reply:
    document = command(site, "config.set", "admin")
    document["params"] = {"values": values}
    if cosigner:
        second = site.signers[cosigner]
        document["params"]["cosign"] = cosign(second, KIOSK, document["cmd_id"], values)
    return await fleet.final(await fleet.send(site.signers["admin"], document), TIMEOUT)


@pytest.mark.parametrize(
    "values",
    [
        {"devices": {"static": [{"role": "idcard", "port": "/etc/shadow"}]}},
        {"daemon": {"bus": "unix:path=/tmp/elsewhere"}},
        {"backup": {"dir": "/var/lib/govkiosk/../../../tmp"}},
        {"ops": {"host": "elsewhere"}},
    ],
)
async def test_config_set_refuses_keys_read_only_at_start_or_outside_its_list(
    site: Site, kiosk: Kiosk, fleet: FleetClient, values: Dict[str, Any]
) -> None:
    before = kiosk.runtime.config
    reply = await config_set(site, fleet, values)
    assert reply.status is Status.FAILED
    assert "not settable remotely" in reply.detail
    assert kiosk.runtime.config == before


async def test_security_keys_need_a_second_admin(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    unlock = {"devices": {"usb": {"operators": ["usb:" + "0" * 64]}}}
    alone = await config_set(site, fleet, unlock)
    assert (alone.status, "needs a second admin" in alone.detail) == (Status.FAILED, True)
    itself = await config_set(site, fleet, unlock, cosigner="admin")
    assert "another admin's key" in itself.detail
    viewer = await config_set(site, fleet, unlock, cosigner="viewer")
    assert "no admin key pinned" in viewer.detail
    outside = {"seal": {"trusted": [str(kiosk.directory / ".." / "etc" / "shadow")]}}
    path = await config_set(site, fleet, outside, cosigner="admin2")
    assert "expected an absolute path inside" in path.detail
    assert kiosk.runtime.config.devices.usb.operators == ()
    two = await config_set(site, fleet, {"maintenance": {"lockout_seconds": 900.0}}, "admin2")
    assert two.status is Status.SUCCEEDED, two.detail
    assert kiosk.runtime.config.maintenance.lockout_seconds == 900.0


def test_a_broker_certificate_the_kiosk_refuses_is_not_an_identity_refusal() -> None:
    def failure(cause: BaseException) -> BaseException:
        err = aiomqtt.MqttError("connect failed")
        err.__cause__ = cause
        return err

    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert not auth_refused(failure(verify))  # the usual short backoff, not auth_retry
    assert auth_refused(failure(ssl.SSLError(1, "tlsv1 alert unknown ca")))


def test_an_alarm_delivered_again_counts_once() -> None:
    # The kiosk's outbox delivers at least once: a broker restart can repeat the last alarm.
    view = FleetView()
    alarm = {"id": "a1", "kiosk_id": KIOSK, "severity": "critical", "code": "usb.tamper"}
    for document in (alarm, alarm, {**alarm, "id": "a2"}):
        view.handle(topic(KIOSK, "evt", "alarm"), json.dumps(document).encode(), time.time())
    assert view.row(KIOSK).alarms == 2


def test_an_expired_kiosk_certificate_signs_no_answer_the_fleet_takes() -> None:
    ca = CertificateAuthority()
    view = FleetView(ca.credential.certificate)

    def state_with(certificate: Any) -> bytes:
        pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        return json.dumps({"online": True, "kiosk_id": KIOSK, "cert": pem}).encode()

    ca.validity = datetime.timedelta(seconds=-60)  # expired a minute ago
    expired = ca.issue_client(KIOSK).certificate
    view.handle(topic(KIOSK, "state"), state_with(expired), time.time())
    assert view.row(KIOSK).certificate is None
    ca.validity = datetime.timedelta(days=1)
    current = ca.issue_client(KIOSK).certificate
    view.handle(topic(KIOSK, "state"), state_with(current), time.time())
    assert view.row(KIOSK).certificate == current


def test_refused_key_names_come_back_escaped() -> None:
    refused, _two = classify({"kiosk": {"x\nops: forged\x1b[2K": 1}})
    assert refused == ["kiosk.x\\x0aops: forged\\x1b[2K"]
