"""A province's broker: a three-node NATS cluster serving MQTT (docs/fleet-cluster.md).

Each node's configuration (:func:`node_config`) and the shared users file
(:func:`users_config`) are written here, from the site PKI and the site ACL
(``packaging/mosquitto/acl``, read by :mod:`.acl`), by ``govkioskctl fleet cluster config``,
the tests' harness and the benchmark alike: what is tested is what a site runs.

- MQTT over TLS with a client certificate required and mapped to a user
  (``verify_and_map``): the user is the certificate's subject DN (``CN=<kiosk id>``), listed
  in ``users.conf`` with the subjects the ACL gives its CN. A certificate of the site CA
  whose DN is not listed is refused (mosquitto lets it in with the pattern rules only).
- Sessions, retained messages and QoS 1 queues live in JetStream streams replicated on
  the three *store* nodes (``stream_replicas``), so a node's loss keeps them.
- Kiosks connect to *access* nodes (``Node.store = False``): MQTT and routes, no JetStream.
  Losing one moves no stream leader, so its kiosks are back on another access node at
  once; losing a store node costs a Raft election (4–9 s in nats-server) during which
  kiosks stay connected and their QoS 1 messages wait (docs/fleet-cluster.md).
- The nodes reach each other over TLS routes with the same site CA; the NATS client port
  and the monitoring port listen on loopback only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Sequence

from cryptography import x509

from ..errors import GovkioskError
from .acl import Acl, Rule, subject

CLUSTER = "govkiosk"
#: Replicas of the MQTT streams (sessions, retained messages, QoS 1 messages): every node.
REPLICAS = 3
#: How long a QoS 1 message waits for its PUBACK before JetStream delivers it again: also
#: how long a message sent to a connection that died (its node was lost) waits before it
#: reaches the client's new connection. MQTT clients acknowledge on receipt.
ACK_WAIT = "10s"
#: QoS 1 messages in flight to one subscription before delivery waits for acknowledgements.
MAX_ACK_PENDING = 1000
#: Where JetStream hands a session's QoS 1 messages to its connection.
INTERNAL_DELIVERY = "$MQTT.sub.>"
#: The users file beside each node's configuration.
USERS = "users.conf"


class ClusterConfigError(GovkioskError):
    """The cluster cannot be configured as asked."""


@dataclass(frozen=True)
class Node:
    """One NATS server: its name and where it listens."""

    name: str
    host: str  #: the address clients and the other nodes reach it at
    mqtt_port: int = 8883
    cluster_port: int = 6222
    client_port: int = 4222  #: NATS protocol, loopback only (operators' tools on the node)
    http_port: int = 8222  #: monitoring (``/healthz``), loopback only
    bind: str = "0.0.0.0"  #: where the MQTT and cluster listeners bind
    #: A store node runs JetStream (the MQTT streams' replicas); an access node does not
    #: and only serves clients.
    store: bool = True

    @property
    def mqtt_address(self) -> str:
        return f"{self.host}:{self.mqtt_port}"


@dataclass(frozen=True)
class NodeFiles:
    """A node's TLS files: the site CA, its certificate (server and route client) and key."""

    ca: Path
    cert: Path
    key: Path


def user_name(certificate: x509.Certificate) -> str:
    """The user NATS maps a client certificate to: its subject DN (RFC 4514)."""
    return certificate.subject.rfc4514_string()


def dn(common_name: str) -> str:
    """The DN of a certificate the site CA issues (``fleet ca issue-*``: a CN only)."""
    return x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)]).rfc4514_string()


def common_name_of(user: str) -> str:
    name = x509.Name.from_rfc4514_string(user)
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if len(values) != 1:
        raise ClusterConfigError(f"{user!r}: a broker user needs exactly one CN")
    return str(values[0].value)


def permissions(rules: Iterable[Rule]) -> dict:  # type: ignore[type-arg]
    """NATS permissions equivalent to mosquitto ``rules`` (read → subscribe, write → publish)."""
    publish: List[str] = []
    # JetStream delivers an MQTT session's QoS 1 messages to an inbox of the server's own
    # naming (``$MQTT.sub.<random>``), subscribed to on the client's behalf and under its
    # permissions. An MQTT client cannot name it: NATS refuses MQTT filters starting with
    # ``$MQTT`` (tests/test_fleet_cluster.py checks).
    subscribe: List[str] = [INTERNAL_DELIVERY]
    for rule in rules:
        name = subject(rule.topic)
        if rule.writes and name not in publish:
            publish.append(name)
        if rule.reads and name not in subscribe:
            subscribe.append(name)
    return {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}}


def users_config(acl: Acl, users: Iterable[str]) -> str:
    """``users.conf``: one user per certificate DN, with the ACL's grants to its CN.

    The ACL's named identities (operators, the watcher) are always listed; kiosks are
    added by DN (``users``: from their certificates, or :func:`dn` of their ids).
    """
    names = [dn(name) for name in acl.users]
    names += [u for u in users if u not in names]
    entries = []
    for user in sorted(set(names)):
        rules = acl.rules_for(common_name_of(user))
        entries.append({"user": user, "permissions": permissions(rules)})
    # NATS reads JSON as its own configuration format.
    body = json.dumps(entries, indent=2, ensure_ascii=True)
    return (
        "# Generated by govkioskctl fleet cluster config from the site ACL and PKI: do not edit;\n"
        "# add a kiosk by issuing its certificate and generating this file again, then\n"
        "# reload every node (systemctl reload nats-server).\n"
        f"authorization {{\n  users = {body}\n}}\n"
    )


def node_config(
    node: Node,
    nodes: Sequence[Node],
    files: NodeFiles,
    store_dir: Path,
    *,
    cluster: str = CLUSTER,
    replicas: int = REPLICAS,
) -> str:
    """One node's ``nats-server`` configuration; ``users.conf`` sits beside it."""
    if node not in nodes:
        raise ClusterConfigError(f"{node.name}: not one of the cluster's nodes")
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise ClusterConfigError(f"node names must differ: {', '.join(names)}")
    stores = sum(1 for n in nodes if n.store)
    if not 1 <= replicas <= stores:
        raise ClusterConfigError(f"{replicas} replicas need as many store nodes ({stores} given)")
    routes = [f"nats-route://{n.host}:{n.cluster_port}" for n in nodes if n is not node]
    tls = {"ca_file": str(files.ca), "cert_file": str(files.cert), "key_file": str(files.key)}
    document = {
        "server_name": node.name,
        # NATS protocol clients: loopback only, and a certificate all the same.
        "listen": f"127.0.0.1:{node.client_port}",
        "tls": {**tls, "verify_and_map": True, "timeout": 5},
        "http": f"127.0.0.1:{node.http_port}",
        "jetstream": {"store_dir": str(store_dir), "max_memory_store": 268435456},
        "cluster": {
            "name": cluster,
            "listen": f"{node.bind}:{node.cluster_port}",
            "tls": {**tls, "verify": True, "timeout": 5},
            "routes": routes,
        },
        "mqtt": {
            "listen": f"{node.bind}:{node.mqtt_port}",
            # A client certificate is required; its DN is the user (users.conf).
            "tls": {**tls, "verify_and_map": True, "timeout": 5},
            "stream_replicas": replicas,
            "ack_wait": ACK_WAIT,
            "max_ack_pending": MAX_ACK_PENDING,
        },
        # The largest message is a screenshot reply (mosquitto: message_size_limit).
        "max_payload": 8388608,
    }
    if not node.store:
        del document["jetstream"]  # an access node: the streams live on the store nodes
    if len(nodes) == 1:
        del document["cluster"]  # one node: a single broker (benchmarks compare with it)
    role = "store" if node.store else "access"
    return (
        f"# nats-server configuration of {role} node {node.name} of cluster {cluster!r},\n"
        "# generated by govkioskctl fleet cluster config (docs/fleet-cluster.md).\n"
        + _conf(document)
        + f"\ninclude {USERS}\n"
    )


def _conf(document: dict) -> str:  # type: ignore[type-arg]
    """NATS configuration text: JSON-like blocks without the outer braces."""
    body = json.dumps(document, indent=2, ensure_ascii=True)
    inner = body[1:-1].strip("\n")
    return "\n".join(line[2:] if line.startswith("  ") else line for line in inner.split("\n"))


def write_cluster(
    directory: Path,
    *,
    nodes: Sequence[Node],
    files: Sequence[NodeFiles],
    acl: Acl,
    users: Iterable[str],
    store_dirs: Sequence[Path],
    replicas: int = REPLICAS,
) -> List[Path]:
    """Write ``<node>.conf`` for each node and the shared ``users.conf`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / USERS).write_text(users_config(acl, users), encoding="utf-8")
    paths = []
    for node, node_files, store in zip(nodes, files, store_dirs):
        path = directory / f"{node.name}.conf"
        path.write_text(node_config(node, nodes, node_files, store, replicas=replicas), "utf-8")
        paths.append(path)
    return paths
