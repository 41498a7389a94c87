"""Every refusal of the command gate, end to end over TLS and the shipped ACL; nothing runs
(a dry-run reboot would publish RebootRequested).

A command whose signature verified is answered REJECTED with its reason, signed and bound to
its digest. Before that, the sender is anyone who can publish: the refusal is counted and
never answered, so the kiosk signs nothing for a stranger."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

import pytest

from govkiosk.fleet.client import FleetClient, command_body, seal_command
from govkiosk.ops.envelope import Reply, Status, body_digest, topic
from govkiosk.ops.methods import RebootRequested
from govkiosk.ops.refusals import CommandRefused
from govkiosk.ops.signing import OperatorSigner
from harness.dbus import PrivateBus
from harness.opskiosk import KIOSK, Kiosk, running_kiosk
from harness.opssite import Site

TIMEOUT = 20.0
MAX_PAYLOAD = 4096


@pytest.fixture
async def kiosk(site: Site, private_bus: PrivateBus, tmp_path: Path) -> AsyncIterator[Kiosk]:
    async with running_kiosk(
        site, tmp_path / "kiosk", private_bus.address, dry_run=True, max_payload=MAX_PAYLOAD
    ) as kiosk:
        await kiosk.connected()
        yield kiosk


@pytest.fixture
async def fleet(site: Site) -> AsyncIterator[FleetClient]:
    async with FleetClient(site.identity("ops-admin")) as client:
        yield client


def reboots(kiosk: Kiosk) -> List[RebootRequested]:
    seen: List[RebootRequested] = []
    kiosk.daemon.bus.subscribe(RebootRequested, seen.append)
    return seen


def body(site: Site, signer_role: str = "operator", **changes: Any) -> Dict[str, Any]:
    document = command_body(
        site.signers[signer_role],
        KIOSK,
        "reboot",
        {},
        role=signer_role,
        issuer="t",
        now=time.time(),
        reply_to="ops-admin",  # the fleet fixture's certificate: its replies are readable
    )
    document.update(changes)
    return document


async def refused(fleet: FleetClient, payload: bytes, cmd_id: str, **kw: Any) -> Reply:
    queue = await fleet.send_payload(KIOSK, cmd_id, payload, **kw)
    reply = await fleet.final(queue, TIMEOUT)
    assert reply.status is Status.REJECTED
    return reply


async def unanswered(
    site: Site, kiosk: Kiosk, fleet: FleetClient, payload: bytes, cmd_id: str, **kw: Any
) -> CommandRefused:
    """Send ``payload``; it is refused without an answer, and a command after it is answered."""
    await fleet.follow([KIOSK])
    with kiosk.daemon.bus.stream(CommandRefused) as refusals:
        queue = await fleet.send_payload(KIOSK, cmd_id, payload, **kw)
        refusal = await asyncio.wait_for(refusals.get(), TIMEOUT)
    assert not refusal.authenticated
    # Replies leave the kiosk in order: once a later command is answered, none came for this.
    later = body(site, signer_role="viewer", method="status")
    answered = await fleet.send(site.signers["viewer"], later)
    assert (await fleet.final(answered, TIMEOUT)).status is Status.SUCCEEDED
    assert queue.empty()
    return refusal


async def commands_logged(kiosk: Kiosk) -> int:
    rows = await kiosk.runtime.store.fetchall("SELECT COUNT(*) FROM ops_log WHERE kind = 'command'")
    return int(rows[0][0])


async def test_forged_signature(site: Site, kiosk: Kiosk, fleet: FleetClient) -> None:
    done = reboots(kiosk)
    await fleet.follow([KIOSK])
    forger = OperatorSigner.generate(site.signers["operator"].key_id)  # same id, other key
    document = body(site)
    payload = seal_command(forger, document)
    refusal = await unanswered(site, kiosk, fleet, payload, document["cmd_id"])
    assert refusal.reason == "bad_signature"
    assert not done
    assert await commands_logged(kiosk) == 1  # the status sent after it


async def test_an_sm2_key_signs_commands_and_is_never_tried_as_another_algorithm(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    await fleet.follow([KIOSK])
    sm2_admin = site.signers["admin2"]  # pinned with algorithm = "sm2-sm3"
    status = body(site, signer_role="admin2", method="status", role="admin")
    reply = await fleet.final(await fleet.send(sm2_admin, status), TIMEOUT)
    assert reply.status is Status.SUCCEEDED, reply.detail
    assert reply.result["kiosk"]["id"] == KIOSK

    # The same SM2 signature with the algorithm taken out of the signed body: the kiosk
    # would have to try the key as Ed25519; it refuses instead, unanswered.
    document = body(site, signer_role="admin2", method="status", role="admin")
    sealed = json.loads(sm2_admin.seal(topic(KIOSK, "cmd", "req"), document))
    del sealed["sig_alg"]
    payload = json.dumps(sealed).encode()
    refusal = await unanswered(site, kiosk, fleet, payload, document["cmd_id"])
    assert refusal.reason == "bad_signature"

    # An Ed25519 key signing under an SM2-pinned key id: refused as well.
    forger = OperatorSigner.generate(sm2_admin.key_id)
    document = body(site, signer_role="admin2", method="status", role="admin")
    refusal = await unanswered(
        site, kiosk, fleet, seal_command(forger, document), document["cmd_id"]
    )
    assert refusal.reason == "bad_signature"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"kiosk_id": "other-kiosk"}, "wrong_kiosk"), ({"key_id": "nobody-key-9"}, "unknown_key")],
)
async def test_refusals_before_the_signature_are_not_answered(
    site: Site, kiosk: Kiosk, fleet: FleetClient, changes: Dict[str, Any], reason: str
) -> None:
    done = reboots(kiosk)
    document = body(site, **changes)
    payload = site.signers["operator"].seal(topic(KIOSK, "cmd", "req"), document)
    refusal = await unanswered(site, kiosk, fleet, payload, document["cmd_id"])
    assert refusal.reason == reason
    assert not done


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {
                "issued_at": time.time() - 7200,
                "not_before": time.time() - 7200,
                "expires_at": time.time() - 3600,
            },
            "expired",
        ),
        ({"not_before": time.time() + 3600, "expires_at": time.time() + 7200}, "not_yet_valid"),
        ({"role": "admin"}, "role_denied"),  # the operator key is not pinned for admin
        ({"method": "no.such.method"}, "unknown_method"),
        ({"not_before": 0, "issued_at": 0, "expires_at": 1e15}, "bad_validity"),
        ({"issued_at": time.time() + 3600}, "bad_validity"),
        ({"expires_at": time.time() - 10, "not_before": time.time()}, "bad_validity"),
    ],
)
async def test_envelope_refusals(
    site: Site, kiosk: Kiosk, fleet: FleetClient, changes: Dict[str, Any], reason: str
) -> None:
    done = reboots(kiosk)
    await fleet.follow([KIOSK])
    document = body(site, **changes)
    # Signed for this kiosk's topic, whatever the envelope claims: only the check can refuse it.
    payload = site.signers["operator"].seal(topic(KIOSK, "cmd", "req"), document)
    reply = await refused(fleet, payload, document["cmd_id"])
    assert reply.reason == reason, reply.detail
    assert reply.cmd_digest == body_digest(document)
    assert not done
    assert await commands_logged(kiosk) == 0


async def test_role_not_allowed_the_method(site: Site, kiosk: Kiosk, fleet: FleetClient) -> None:
    done = reboots(kiosk)
    await fleet.follow([KIOSK])
    document = body(site, signer_role="viewer")
    reply = await refused(fleet, seal_command(site.signers["viewer"], document), document["cmd_id"])
    assert (reply.reason, reply.detail) == ("role_denied", "role 'viewer' may not call 'reboot'")
    assert not done


async def test_retained_command(
    site: Site, fleet: FleetClient, private_bus: PrivateBus, tmp_path: Path
) -> None:
    # The broker sets the retain flag only when it replays a retained message to a new
    # subscription — what happens at every reconnect, and what the check is there for.
    document = body(site)
    payload = seal_command(site.signers["operator"], document)
    queue = await fleet.send_payload(KIOSK, document["cmd_id"], payload, retain=True)
    try:
        kiosk = running_kiosk(site, tmp_path / "kiosk", private_bus.address, dry_run=True)
        async with kiosk as k:
            done = reboots(k)
            with k.daemon.bus.stream(CommandRefused) as refusals:
                refusal = await asyncio.wait_for(refusals.get(), TIMEOUT)
    finally:
        await fleet.send_payload(KIOSK, "clear", b"", retain=True)
    assert (refusal.reason, refusal.authenticated) == ("retained", False)
    assert queue.empty()
    assert not done


async def test_replayed_nonce_and_conflicting_cmd_id(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    done = reboots(kiosk)
    await fleet.follow([KIOSK])
    signer = site.signers["operator"]
    first = body(site)
    queue = await fleet.send_payload(KIOSK, first["cmd_id"], seal_command(signer, first))
    assert (await fleet.final(queue, TIMEOUT)).status is Status.SUCCEEDED
    assert len(done) == 1

    replay = {**first, "cmd_id": "replay-1"}  # a new id, the old nonce
    assert (await refused(fleet, seal_command(signer, replay), "replay-1")).reason == "replayed"
    conflict = {**first, "params": {"changed": True}}  # the old id, other content
    queue = await fleet.send_payload(KIOSK, first["cmd_id"], seal_command(signer, conflict))
    assert (await fleet.final(queue, TIMEOUT)).reason == "conflict"
    assert len(done) == 1


async def test_redelivery_answers_again_and_runs_once(
    site: Site, kiosk: Kiosk, fleet: FleetClient
) -> None:
    done = reboots(kiosk)
    await fleet.follow([KIOSK])
    document = body(site)
    payload = seal_command(site.signers["operator"], document)
    queue = await fleet.send_payload(KIOSK, document["cmd_id"], payload)
    first = await fleet.final(queue, TIMEOUT)
    await fleet.send_payload(KIOSK, document["cmd_id"], payload)
    again = await fleet.final(queue, TIMEOUT)
    assert first.status is again.status is Status.SUCCEEDED
    assert again.at == first.at  # the stored reply, not a second run
    assert len(done) == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed"),
        (b"[]", "malformed"),
        (b"{" + b" " * MAX_PAYLOAD + b"}", "oversized"),
    ],
)
async def test_unreadable_payloads(
    site: Site, kiosk: Kiosk, fleet: FleetClient, payload: bytes, reason: str
) -> None:
    done = reboots(kiosk)
    refusal = await unanswered(site, kiosk, fleet, payload, "x")
    assert refusal.reason == reason
    assert not done
