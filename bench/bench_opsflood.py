"""A junk flood against one kiosk, and a legitimate operator's commands through it.

A separate process with an ops-operator certificate (the shipped ACL lets it publish
commands) sends 10,000 junk messages to the kiosk's ``cmd/req`` as fast as the broker
takes them, QoS 1: half not JSON, half well-formed envelopes under a pinned key id with
a forged signature (each costs the kiosk an Ed25519 verification). Meanwhile an admin's
``FleetClient`` in this process sends a signed ``status`` every 200 ms until the flood is over
(the flooder done, and no refusal for 2 s), and waits for each final reply (the client
publishes a command again while the kiosk does not answer). Reported: the legitimate round
trip p50/p99/max, how many legitimate commands got no answer within 10 s (target: none),
the flood's length, the refusals the kiosk counted, what its intake shed, and (by
difference) what the broker dropped for the kiosk's full queue. The kiosk is
the real daemon (``app.Daemon``) in this process; mosquitto runs the shipped TLS listener.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

from govkiosk.fleet.client import FleetClient, command_body, seal_command
from govkiosk.ops.envelope import Status
from govkiosk.ops.link import Intake
from govkiosk.ops.refusals import CommandRefused
from govkiosk.ops.signing import OperatorSigner

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from harness.dbus import PrivateBus  # noqa: E402 - the test harness runs dbus-daemon
from harness.opskiosk import KIOSK, running_kiosk  # noqa: E402
from harness.opssite import Site  # noqa: E402

JUNK = 10000
INTERVAL = 0.2
ANSWER_TIMEOUT = 10.0
#: What the flood's messages are refused for (the legitimate client is never rate-limited
#: at one command per INTERVAL, below [ops] command_rate).
JUNK_REASONS = ("malformed", "bad_signature")
#: Seconds without a refusal after the flooder finished: the flood is over.
QUIET = 2.0

FLOODER = r"""
import json, ssl, sys, threading
import paho.mqtt.client as mqtt
host, port, ca, cert, key, topic, count = sys.argv[1:8]
junk = json.loads(sys.stdin.read())
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flooder")
client.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
client.max_inflight_messages_set(100)
done = threading.Event()
acked = [0]
def on_publish(*_args):
    acked[0] += 1
    if acked[0] == int(count):
        done.set()
client.on_publish = on_publish
client.connect(host, int(port))
client.loop_start()
for i in range(int(count)):
    client.publish(topic, junk[i % len(junk)].encode("latin-1"), qos=1)
done.wait(120)
client.loop_stop(); client.disconnect()
print(acked[0])
"""


def _percentile(ordered: List[float], share: float) -> float:
    return ordered[max(0, int(len(ordered) * share) - 1)]


async def _flood(site: Site, kiosk: Any, fleet: FleetClient) -> Dict[str, Any]:
    forger = OperatorSigner.generate(site.signers["operator"].key_id)
    forged = seal_command(
        forger,
        command_body(forger, KIOSK, "reboot", {}, role="operator", issuer="x", now=time.time()),
    )
    junk = ["{not json", forged.decode("latin-1")]
    flooder_id = site.identity("ops-operator")
    args = [
        sys.executable,
        "-c",
        FLOODER,
        flooder_id.host,
        str(flooder_id.port),
        str(flooder_id.ca),
        str(flooder_id.cert),
        str(flooder_id.key),
        f"kiosk/v1/{KIOSK}/cmd/req",
        str(JUNK),
    ]
    refused: Counter[str] = Counter()
    times: List[float] = []

    def on_refused(event: CommandRefused) -> None:
        refused.update([event.reason])
        if event.reason in JUNK_REASONS:
            times.append(time.perf_counter())

    kiosk.daemon.bus.subscribe(CommandRefused, on_refused)
    signer = site.signers["viewer"]
    rtts: List[float] = []
    lost = 0

    async def one() -> Optional[float]:
        body = command_body(signer, KIOSK, "status", {}, role="viewer", issuer="b", now=time.time())
        start = time.perf_counter()
        queue = await fleet.send(signer, body)
        try:
            reply = await fleet.final(queue, ANSWER_TIMEOUT)
        except asyncio.TimeoutError:
            return None
        assert reply.status is Status.SUCCEEDED
        return time.perf_counter() - start

    process = await asyncio.create_subprocess_exec(
        *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(junk).encode())
    process.stdin.close()
    started = time.perf_counter()
    pending: List[asyncio.Task[Optional[float]]] = []
    waiter = asyncio.ensure_future(process.communicate())
    # Until the flooder is done and the kiosk has refused what reached it.
    while not waiter.done() or time.perf_counter() - max(times, default=started) < QUIET:
        pending.append(asyncio.ensure_future(one()))
        await asyncio.sleep(INTERVAL)
    flood_seconds = max(times, default=started) - started
    for result in await asyncio.gather(*pending):
        if result is None:
            lost += 1
        else:
            rtts.append(result)
    acked = int(waiter.result()[0] or b"0")
    rtts.sort()
    return {
        "junk_sent": JUNK,
        "junk_acked_by_broker": acked,
        "junk_refused_by_kiosk": dict(refused),
        "junk_shed_by_kiosk_intake": Intake.dropped,
        "junk_refused_per_second": round(sum(refused.values()) / max(flood_seconds, 1e-9)),
        "flood_seconds": round(flood_seconds, 2),
        "legitimate_commands": len(pending),
        "legitimate_lost": lost,
        "status_p50_ms": round(rtts[len(rtts) // 2] * 1000, 1) if rtts else None,
        "status_p99_ms": round(_percentile(rtts, 0.99) * 1000, 1) if rtts else None,
        "status_max_ms": round(rtts[-1] * 1000, 1) if rtts else None,
        "target_p99_ms": 1000,
    }


async def _main() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        site = Site.create(directory / "site")
        bus = PrivateBus(directory / "dbus")
        try:
            async with running_kiosk(site, directory / "kiosk", bus.address, dry_run=True) as k:
                await k.connected()
                async with FleetClient(site.identity("ops-admin")) as fleet:
                    await fleet.follow([KIOSK])
                    return await _flood(site, k, fleet)
        finally:
            bus.stop()
            site.stop()


def run() -> Dict[str, Any]:
    return asyncio.run(_main())
