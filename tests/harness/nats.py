"""A private NATS cluster per test: three ``nats-server`` store nodes (JetStream) and, as
a site deploys it, access nodes for the kiosks (no JetStream), on free loopback ports,
configured by the product's own ``govkiosk.fleet.natscluster`` from the test site's CA and
the shipped ACL (TLS with client certificates mapped to users, JetStream with three
replicas, MQTT). A node can be killed (SIGKILL: its clients see the connection drop, as
on a power cut) and started again on the same ports; readiness is the monitoring
endpoint (``/healthz``: :func:`healthy`), never a sleep.
"""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

from govkiosk.fleet.acl import Acl
from govkiosk.fleet.natscluster import USERS, Node, NodeFiles, users_config, write_cluster
from govkiosk.fleet.pki import CertificateAuthority

from .process import Proc, free_port, wait_until

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0  # generous: a busy 2-core CI machine, JetStream catching up


def health(port: int) -> str:
    """The node's ``/healthz``: "ok", or what is not ready; "" if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as answer:
            document = json.loads(answer.read())
    except urllib.error.HTTPError as err:
        try:
            document = json.loads(err.read())
        except ValueError:
            return ""
    except (OSError, ValueError):
        return ""
    return str(document.get("error") or document.get("status") or "")


def healthy(port: int) -> bool:
    """The node serves, its JetStream is current with the meta leader and every stream
    (MQTT sessions, QoS 1 messages, retained messages) is current on it.

    ``/healthz`` checks streams before consumers. A consumer not yet current is accepted:
    nats-server 2.9.10 lists there each node's own reader of the retained messages, and
    after a node was killed one of them can stay "not current" (stalled without quorum)
    for good while MQTT works on (docs/fleet-cluster.md).
    """
    answer = health(port)
    return answer == "ok" or answer.startswith("JetStream consumer")


class NatsCluster:
    """``size`` store nodes (3: a cluster; 1: a single NATS broker for comparison) and
    ``access`` access nodes; kiosks are given the access nodes (:attr:`addresses`), or
    every node when there are none."""

    def __init__(
        self,
        directory: Path,
        ca: CertificateAuthority,
        acl: Acl,
        users: Iterable[str],
        size: int = 3,
        *,
        access: int = 0,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.acl = acl
        self.users = list(users)
        self.size = size
        self.access = access
        self._ca = ca
        self.nodes: List[Node] = []
        self.configs: List[Path] = []
        self._configure()
        self._procs: List[Optional[Proc]] = [None] * len(self.nodes)
        self._logs: List[Path] = []

    def _configure(self) -> None:
        """Free ports for every node, and the configurations that name them."""
        roles = [(f"n{i + 1}", True) for i in range(self.size)]
        roles += [(f"a{i + 1}", False) for i in range(self.access)]
        self.nodes = [
            Node(name, HOST, *(free_port() for _ in range(4)), bind=HOST, store=store)
            for name, store in roles
        ]
        pki = self.directory / "pki"
        files = []
        for node in self.nodes:
            cert, key = self._ca.issue_node([HOST, "localhost"], node.name).write(pki, node.name)
            files.append(NodeFiles(self._ca.write(pki), cert, key))
        self.configs = write_cluster(
            self.directory,
            nodes=self.nodes,
            files=files,
            acl=self.acl,
            users=self.users,
            store_dirs=[self.directory / f"store-{n.name}" for n in self.nodes],
            replicas=self.size,
        )

    @property
    def entry_nodes(self) -> List[Node]:
        """The nodes kiosks connect to: the access nodes, or every node without them."""
        access = [node for node in self.nodes if not node.store]
        return access or self.nodes

    @property
    def addresses(self) -> List[str]:
        return [node.mqtt_address for node in self.entry_nodes]

    def index_of(self, address: str) -> int:
        """The index in :attr:`nodes` of the node serving MQTT at ``address``."""
        return [node.mqtt_address for node in self.nodes].index(address)

    def alive(self, index: int) -> bool:
        proc = self._procs[index]
        return proc is not None and proc.alive()

    def start(self, timeout: float = READY_TIMEOUT, attempts: int = 3) -> None:
        """Start every node and wait until each is healthy. A port taken between
        ``free_port`` and the node's bind (another program's outgoing connection) is not a
        failure of the cluster: new ports, and again."""
        for attempt in range(attempts):
            try:
                for index in range(len(self.nodes)):
                    self.start_node(index, wait=False)
                for index in range(len(self.nodes)):
                    self.wait_healthy(index, timeout)
            except RuntimeError as err:
                self.stop()
                if "address already in use" not in str(err) or attempt == attempts - 1:
                    raise
                self._configure()
            else:
                return

    def start_node(self, index: int, *, wait: bool = True, timeout: float = READY_TIMEOUT) -> None:
        if self.alive(index):
            raise RuntimeError(f"{self.nodes[index].name} is already running")
        log = self.directory / f"{self.nodes[index].name}-{len(self._logs) + 1}.log"
        self._logs.append(log)
        self._procs[index] = Proc(["nats-server", "-c", str(self.configs[index])], log)
        if wait:
            self.wait_healthy(index, timeout)

    def wait_healthy(self, index: int, timeout: float = READY_TIMEOUT) -> None:
        proc = self._procs[index]
        if proc is None:
            raise RuntimeError(f"{self.nodes[index].name} was never started")
        node = self.nodes[index]
        proc.wait_ready(lambda: healthy(node.http_port), timeout, f"nats {node.name}")

    def kill(self, index: int) -> None:
        """SIGKILL: no goodbye to clients or peers, as when the machine loses power."""
        proc = self._procs[index]
        if proc is not None and proc.alive():
            proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait()
            proc.stop()

    def stop_node(self, index: int) -> None:
        proc = self._procs[index]
        if proc is not None:
            proc.stop()

    def stop(self) -> None:
        for index in range(len(self.nodes)):
            self.stop_node(index)

    def reload_users(self, users: Sequence[str], timeout: float = READY_TIMEOUT) -> None:
        """Write ``users.conf`` again and have every node reload it (SIGHUP)."""
        self.users = list(users)
        (self.directory / USERS).write_text(users_config(self.acl, users), encoding="utf-8")
        for proc in self._procs:
            if proc is not None and proc.alive():
                before = proc.output().count("Reloaded server configuration")
                proc.popen.send_signal(signal.SIGHUP)
                wait_until(
                    lambda p=proc, b=before: p.output().count("Reloaded server configuration") > b,
                    timeout,
                    "nats reload",
                )

    def rss_kib(self) -> List[int]:
        """Each running node's resident memory, KiB (0 for a stopped node)."""
        sizes = []
        for proc in self._procs:
            if proc is None or not proc.alive():
                sizes.append(0)
                continue
            status = Path(f"/proc/{proc.popen.pid}/status").read_text()
            line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
            sizes.append(int(line.split()[1]))
        return sizes

    def output(self) -> str:
        """Every node's log, oldest run first: what to print when a test fails."""
        return "".join(f"--- {log.name}\n" + log.read_text(errors="replace") for log in self._logs)
