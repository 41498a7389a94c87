"""The clustered broker (docs/fleet-cluster.md): failover, command round trip, scale.

``python -m bench cluster [--failovers N] [--commands N] [--kiosks N,N,…] [--only PART]``

1. Failover (``--failovers``, default 100): a real daemon linked to a NATS cluster as a site
   deploys it — three store nodes (JetStream R3) and two access nodes the kiosk is given
   (TLS, the site ACL) — telemetry every 0.2 s (each message numbered by the outbox's
   ``seq``). Each round kills (SIGKILL) the node the kiosk is connected to, sends a
   ``status`` command at once (an operator's tool retrying on another node), measures the
   time until the kiosk's link is connected (subscriptions granted) to another node, waits
   for the reply, starts the node again and waits until every node reports healthy. A
   watcher with a persistent session counts every ``seq``: lost (never received) and
   duplicated (received twice: the at-least-once outbox re-sent one the broker had taken);
   and what the kiosk's outbox still holds or dropped (every message acknowledged by the
   cluster, whatever the watcher saw).
   Each failover's command must have run exactly once (the kiosk's ops log) or been
   refused as expired. Targets: reconnect p99 ≤ 10 s; 0 lost, 0 duplicated.
2. Round trip (``--commands``, default 300): the signed ``status`` command, operator to the
   real daemon and its signed reply back, through the cluster (operator and kiosk on
   different nodes, and on the same node), through one NATS node, and through mosquitto,
   in the same run. Target: cluster ≤ 3× single node.
3. Scale (``--kiosks``, default 250,500,1000): simulated kiosks as real TLS MQTT
   clients in four processes, each with its own certificate, a persistent session and the
   kiosk's two QoS 1 subscriptions, spread over the nodes, each publishing ~1 KB telemetry
   every 30 s compressed 30× (every second). At each size: connections held, RSS per node,
   and the ``status`` round trip of the real daemon sampled throughout (p50/p99). The
   slope of RSS per node over the sizes gives what 5,000 kiosks would need.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from govkiosk.fleet.client import FleetClient, command_body
from govkiosk.ops.envelope import Status
from govkiosk.ops.link import LinkState, OpsLinkChanged

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from harness.dbus import PrivateBus  # noqa: E402 - the test harness runs dbus-daemon
from harness.failover import Sequences, operate, watch_sequences  # noqa: E402
from harness.opskiosk import KIOSK, Kiosk, running_kiosk  # noqa: E402
from harness.opssite import CLUSTER_KIOSKS, Site  # noqa: E402

FAILOVERS = 100
COMMANDS = 300
SCALE = (250, 500, 1000)
SIM_PROCESSES = 4
COMPRESSION = 30.0  #: telemetry every 30 s, compressed: every second
SCALE_SECONDS = 20.0  #: measuring time at each size
TARGET_FLEET = 5000
RECONNECT_BOUND = 60.0  #: a failover not done in this is reported, not waited for

SIMULATOR = r"""
import asyncio, json, ssl, sys, time
import aiomqtt
spec = json.loads(sys.stdin.readline())
ca, period, doc = spec["ca"], spec["period"], json.dumps(spec["telemetry"])
clients, tasks = [], []
def context(cert, key):
    c = ssl.create_default_context(cafile=ca); c.load_cert_chain(cert, key); return c
async def kiosk(kiosk_id, host, port, cert, key, ready):
    client = aiomqtt.Client(host, port, identifier=kiosk_id, clean_session=False,
                            tls_context=context(cert, key), keepalive=60, timeout=60)
    await client.__aenter__()
    for name in ("cmd/req", "shadow/desired"):
        await client.subscribe(f"kiosk/v1/{kiosk_id}/{name}", qos=1)
    clients.append(client); ready.set()
    await asyncio.sleep(period * (hash(kiosk_id) % 1000) / 1000)
    while True:
        await client.publish(f"kiosk/v1/{kiosk_id}/telemetry", doc, qos=1)
        await asyncio.sleep(period)
async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(); await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    failed = 0
    while True:
        line = (await reader.readline()).decode()
        if not line:
            break
        batch = json.loads(line)
        for start in range(0, len(batch), 20):
            events = []
            for kiosk_id, host, port, cert, key in batch[start:start + 20]:
                ready = asyncio.Event(); events.append(ready)
                tasks.append(asyncio.ensure_future(kiosk(kiosk_id, host, port, cert, key, ready)))
            waits = [asyncio.ensure_future(e.wait()) for e in events]
            _, slow = await asyncio.wait(waits, timeout=120)
            for wait in slow:
                wait.cancel()
        failed = sum(1 for t in tasks if t.done() and t.exception() is not None)
        print(json.dumps({"held": len(clients), "failed": failed}), flush=True)
asyncio.run(main())
"""


def _ms(samples: List[float]) -> Dict[str, Optional[float]]:
    if not samples:
        return {"p50_ms": None, "p99_ms": None, "n": 0}
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
        "n": len(ordered),
    }


def _s(samples: List[float]) -> Dict[str, Optional[float]]:
    if not samples:
        return {"p50_s": None, "p99_s": None, "max_s": None}
    ordered = sorted(samples)
    return {
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
        "max_s": round(ordered[-1], 3),
    }


class Links:
    def __init__(self, kiosk: Kiosk) -> None:
        self.events: List[Tuple[float, str, str]] = []
        kiosk.daemon.bus.subscribe(
            OpsLinkChanged, lambda e: self.events.append((time.monotonic(), e.state, e.detail))
        )

    def connected_to(self) -> str:
        """The node the link is connected to now ("" while it is not)."""
        if not self.events or self.events[-1][1] != LinkState.CONNECTED.value:
            return ""
        return self.events[-1][2]


async def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _status(site: Site, role: str = "operator") -> Dict[str, Any]:
    return command_body(
        site.signers[role], KIOSK, "status", {}, role=role, issuer="bench", now=time.time()
    )


async def _failover(directory: Path, rounds: int) -> Dict[str, Any]:  # noqa: PLR0915
    site = Site.create(directory / "site", kind="nats")
    bus = PrivateBus(directory / "dbus")
    cluster = site.cluster
    assert cluster is not None
    loop = asyncio.get_running_loop()
    reconnects: List[float] = []
    answers: List[float] = []
    commands: List[str] = []
    expired = 0
    slow = 0
    unanswered = 0
    try:
        async with running_kiosk(
            site, directory / "kiosk", bus.address, telemetry_interval=0.2, command_rate=1000.0
        ) as kiosk:
            links = Links(kiosk)
            await kiosk.connected(60)
            await _wait(lambda: bool(links.connected_to()), 60)
            sequences = Sequences()
            reader = asyncio.ensure_future(watch_sequences(site, [0, 1, 2], sequences))
            try:
                for _ in range(rounds):
                    victim = cluster.index_of(links.connected_to())
                    others = [n for n in range(3) if n != victim]
                    started = time.monotonic()
                    await loop.run_in_executor(None, cluster.kill, victim)
                    document = _status(site)
                    commands.append(document["cmd_id"])
                    operator = asyncio.ensure_future(operate(site, others, document, "operator"))
                    moved = await _wait(
                        lambda v=victim: (
                            links.connected_to() not in ("", cluster.nodes[v].mqtt_address)
                        ),
                        RECONNECT_BOUND,
                    )
                    if moved:
                        reconnects.append(time.monotonic() - started)
                    else:
                        slow += 1
                    try:
                        reply = await asyncio.wait_for(operator, 120)
                    except asyncio.TimeoutError:
                        unanswered += 1
                    else:
                        answers.append(time.monotonic() - started)
                        if reply.status is Status.REJECTED and reply.reason == "expired":
                            expired += 1
                    await loop.run_in_executor(None, cluster.start_node, victim)
                    for node in range(len(cluster.nodes)):
                        await loop.run_in_executor(None, cluster.wait_healthy, node)
                    await _wait(lambda: links.connected_to() != "", 60)
                    # Progress, for a long run: one line per failover on stderr.
                    print(
                        json.dumps(
                            {
                                "failover": len(commands),
                                "reconnect_s": round(reconnects[-1], 3) if moved else None,
                                "received": len(sequences.received),
                                "lost_so_far": len(sequences.lost()),
                            }
                        ),
                        file=sys.stderr,
                        flush=True,
                    )
                last = await kiosk.runtime.store.fetchall(
                    "SELECT value FROM ops_meta WHERE name = 'sequence'"
                )
                upto = int(last[0][0])
                # What went to a connection that died comes again after the ack wait (10 s).
                await _wait(lambda: not sequences.lost(upto), 60)
            finally:
                reader.cancel()
                await asyncio.wait([reader])
            rows = await kiosk.runtime.store.fetchall(
                "SELECT detail FROM ops_log WHERE kind = 'command'"
            )
            # The kiosk's side of "0 lost": every numbered message was acknowledged by the
            # cluster (nothing left in, or dropped from, the outbox).
            outbox = await kiosk.runtime.store.fetchall("SELECT COUNT(*) FROM ops_outbox")
            dropped = await kiosk.runtime.store.fetchall(
                "SELECT value FROM ops_meta WHERE name = 'dropped'"
            )
        ran = [json.loads(d)["cmd_id"] for (d,) in rows]
        counts = [ran.count(c) for c in commands]
        return {
            "failovers": rounds,
            "reconnect": _s(reconnects),
            "reconnects_over_60s": slow,
            "command_answered": _s(answers),
            "messages_numbered": upto - min(sequences.received) + 1 if sequences.received else 0,
            "outbox_left": int(outbox[0][0]),
            "outbox_dropped": int(dropped[0][0]) if dropped else 0,
            "lost": len(sequences.lost(upto)),
            "duplicated": sequences.duplicated(),
            "commands_run_once": sum(1 for c in counts if c == 1),
            "commands_run_twice_or_more": sum(1 for c in counts if c > 1),
            "commands_refused_expired": expired,
            "commands_unanswered_in_120s": unanswered,
        }
    finally:
        site.stop()
        bus.stop()


async def _round_trips(site: Site, fleet: FleetClient, count: int) -> List[float]:
    samples = []
    for n in range(count + 10):
        document = _status(site, "viewer")
        start = time.perf_counter()
        reply = await fleet.final(await fleet.send(site.signers["viewer"], document), 30)
        if n >= 10:  # warm-up
            samples.append(time.perf_counter() - start)
        assert reply.status is Status.SUCCEEDED
    return samples


async def _rtt_on(directory: Path, kind: str, nodes: int, count: int) -> Dict[str, Any]:
    site = Site.create(directory / "site", kind=kind, nodes=nodes, access=2 if nodes > 1 else 0)
    bus = PrivateBus(directory / "dbus")
    try:
        async with running_kiosk(
            site, directory / "kiosk", bus.address, command_rate=10000.0, command_burst=1000
        ) as kiosk:
            links = Links(kiosk)
            await kiosk.connected(60)
            await _wait(lambda: bool(links.connected_to()), 60)
            results: Dict[str, Any] = {}
            placements = {"": 0}
            if site.cluster is not None and nodes > 1:
                cluster = site.cluster
                at = cluster.index_of(links.connected_to())
                entry = cluster.entry_nodes
                other = entry[(entry.index(cluster.nodes[at]) + 1) % len(entry)]
                placements = {"other_node": cluster.nodes.index(other), "same_node": at}
            for name, node in placements.items():
                async with FleetClient(site.identity("ops-admin", node)) as fleet:
                    await fleet.follow([KIOSK], 30)
                    results[name] = _ms(await _round_trips(site, fleet, count))
            return results
    finally:
        site.stop()
        bus.stop()


async def _rtt(directory: Path, count: int) -> Dict[str, Any]:
    cluster = await _rtt_on(directory / "cluster", "nats", 3, count)
    single = (await _rtt_on(directory / "single", "nats", 1, count))[""]
    mosquitto = (await _rtt_on(directory / "mosquitto", "mosquitto", 1, count))[""]
    ratio = None
    if cluster["other_node"]["p50_ms"] and single["p50_ms"]:
        ratio = round(cluster["other_node"]["p50_ms"] / single["p50_ms"], 2)
    return {
        "cluster_operator_on_another_node": cluster["other_node"],
        "cluster_operator_on_the_kiosks_node": cluster["same_node"],
        "single_nats_node": single,
        "mosquitto": mosquitto,
        "cluster_over_single_p50": ratio,
    }


TELEMETRY = {
    "healthy": True,
    "services": [{"name": f"service-{i}", "state": "running"} for i in range(12)],
    "devices": [{"id": f"dev-{i}", "role": "receipt", "driver": "running"} for i in range(6)],
    "disk": {"free_mb": 10240, "total_mb": 32768},
    "version": "1.0.0",
    "padding": "x" * 200,
}


async def _scale(directory: Path, sizes: List[int]) -> Dict[str, Any]:  # noqa: PLR0915
    largest = max(sizes)
    names = [f"sim-{n:05d}" for n in range(largest)]
    site = Site.create(directory / "site", kind="nats", kiosks=[*CLUSTER_KIOSKS, *names])
    cluster = site.cluster
    assert cluster is not None
    bus = PrivateBus(directory / "dbus")
    pki = directory / "sim-pki"
    loop = asyncio.get_running_loop()

    def certificates() -> List[Tuple[str, str, str]]:
        out = []
        for name in names:
            cert, key = site.ca.issue_client(name).write(pki, name)
            out.append((name, str(cert), str(key)))
        return out

    issued = await loop.run_in_executor(None, certificates)
    spec = {"ca": str(site.ca_file), "period": 30.0 / COMPRESSION, "telemetry": TELEMETRY}
    procs = []
    for _ in range(SIM_PROCESSES):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SIMULATOR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(spec) + "\n").encode())
        procs.append(proc)
    steps: Dict[str, Any] = {}
    held = 0
    try:
        async with running_kiosk(
            site, directory / "kiosk", bus.address, command_rate=10000.0, command_burst=1000
        ) as kiosk:
            await kiosk.connected(60)
            async with FleetClient(site.identity("ops-admin", 1)) as fleet:
                await fleet.follow([KIOSK], 30)
                for size in sorted(sizes):
                    batch = issued[held:size]
                    started = time.monotonic()
                    shares: List[List[Any]] = [[] for _ in procs]
                    for i, (name, cert, key) in enumerate(batch):
                        node = cluster.entry_nodes[(held + i) % len(cluster.entry_nodes)]
                        shares[i % len(procs)].append([name, node.host, node.mqtt_port, cert, key])
                    for proc, share in zip(procs, shares):
                        assert proc.stdin is not None
                        proc.stdin.write((json.dumps(share) + "\n").encode())
                    reports = []
                    for proc in procs:
                        assert proc.stdout is not None
                        reports.append(json.loads(await proc.stdout.readline()))
                    held = sum(r["held"] for r in reports)
                    failed = sum(r["failed"] for r in reports)
                    connect_s = time.monotonic() - started
                    samples: List[float] = []
                    end = time.monotonic() + SCALE_SECONDS
                    while time.monotonic() < end:
                        document = _status(site, "viewer")
                        t0 = time.perf_counter()
                        reply = await fleet.final(
                            await fleet.send(site.signers["viewer"], document), 30
                        )
                        samples.append(time.perf_counter() - t0)
                        assert reply.status is Status.SUCCEEDED
                        await asyncio.sleep(0.2)
                    rss = cluster.rss_kib()
                    steps[str(size)] = {
                        "connections_held": held,
                        "connections_failed": failed,
                        "connect_s": round(connect_s, 1),
                        "rss_mib_per_node": [round(r / 1024, 1) for r in rss],
                        "status_rtt": _ms(samples),
                    }
                    if failed:
                        break
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.kill()
            await proc.wait()
        site.stop()
        bus.stop()
    return {"sizes": steps, **_slope(steps)}


def _slope(steps: Dict[str, Any]) -> Dict[str, Any]:
    """Least squares of the largest node's RSS over connections held → 5,000 kiosks."""
    points = [(s["connections_held"], max(s["rss_mib_per_node"])) for s in steps.values()]
    if len(points) < 2:
        return {}
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if not var:
        return {}
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    base = mean_y - slope * mean_x
    return {
        "rss_mib_per_kiosk_per_node": round(slope, 4),
        "rss_mib_base_per_node": round(base, 1),
        f"rss_mib_per_node_at_{TARGET_FLEET}": round(base + slope * TARGET_FLEET, 0),
    }


def _option(argv: List[str], name: str, default: str) -> str:
    if name in argv:
        return argv[argv.index(name) + 1]
    return default


def run(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    argv = argv or []
    only = _option(argv, "--only", "")
    rounds = int(_option(argv, "--failovers", str(FAILOVERS)))
    count = int(_option(argv, "--commands", str(COMMANDS)))
    sizes = [int(s) for s in _option(argv, "--kiosks", ",".join(map(str, SCALE))).split(",")]
    results: Dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as name:
        directory = Path(name)
        if only in ("", "failover"):
            results["failover"] = asyncio.run(_failover(directory / "failover", rounds))
        if only in ("", "rtt"):
            results["rtt"] = asyncio.run(_rtt(directory / "rtt", count))
        if only in ("", "scale"):
            results["scale"] = asyncio.run(_scale(directory / "scale", sizes))
    return results
