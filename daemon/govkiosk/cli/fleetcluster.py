"""``govkioskctl fleet cluster config``: a NATS cluster's node configurations and users file,
from the site ACL and the site's certificates (docs/fleet-cluster.md).

    govkioskctl fleet cluster config --acl /etc/govkiosk/site/acl --out /etc/nats/govkiosk \\
        --node nats-1=10.1.0.11 --node nats-2=10.1.0.12 --node nats-3=10.1.0.13 \\
        --access-node access-1=10.1.0.21 --access-node access-2=10.1.0.22 \\
        --certs /srv/govkiosk-ca/issued --tls-dir /etc/nats/govkiosk/tls

Writes ``<node>.conf`` for each node and ``users.conf`` (one user per certificate DN, with
the ACL's grants to its CN). ``--node`` names the store nodes (JetStream), ``--access-node``
the nodes kiosks connect to (no JetStream: their loss moves no stream leader). Run it again
after issuing a kiosk's certificate, copy ``users.conf`` to every node and reload them
(``systemctl reload nats-server``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..fleet import acl as site_acl
from ..fleet.natscluster import (
    ClusterConfigError,
    Node,
    NodeFiles,
    dn,
    user_name,
    write_cluster,
)

#: Where the shipped example expects the node's files (packaging/nats/).
TLS_DIR = "/etc/nats/govkiosk/tls"
STORE_DIR = "/var/lib/nats/jetstream"


def add_parser(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="a clustered (NATS) broker").add_subparsers(
        dest="action", required=True
    )
    config = cluster.add_parser(
        "config", help="each node's nats-server configuration and the users file"
    )
    config.add_argument("--acl", required=True, help="the site ACL (packaging/mosquitto/acl)")
    config.add_argument("--out", required=True, help="where to write <node>.conf, users.conf")
    config.add_argument(
        "--node",
        action="append",
        required=True,
        help="NAME=HOST[:MQTT_PORT[:CLUSTER_PORT]], once per store node (three for a cluster)",
    )
    config.add_argument(
        "--access-node",
        action="append",
        default=[],
        help="NAME=HOST[:MQTT_PORT[:CLUSTER_PORT]], once per access node (kiosks connect here)",
    )
    config.add_argument(
        "--certs",
        action="append",
        default=[],
        help="a directory of issued client certificates (*.crt): each becomes a user",
    )
    config.add_argument(
        "--kiosk", action="append", default=[], help="a kiosk id (CN) to admit, repeatable"
    )
    config.add_argument("--tls-dir", default=TLS_DIR, help="ca.crt, <node>.crt, <node>.key")
    config.add_argument("--store", default=STORE_DIR, help="JetStream's directory on a node")
    config.set_defaults(run=cluster_config)


def parse_node(text: str, *, store: bool = True) -> Node:
    name, sep, address = text.partition("=")
    parts = address.split(":")
    if not sep or not name or not parts[0] or len(parts) > 3:
        raise ClusterConfigError(f"--node {text!r}: expected NAME=HOST[:MQTT_PORT[:CLUSTER_PORT]]")
    try:
        ports = [int(p) for p in parts[1:]]
    except ValueError:
        raise ClusterConfigError(f"--node {text!r}: a port is not a number") from None
    if not all(0 < port < 65536 for port in ports):
        raise ClusterConfigError(f"--node {text!r}: a port is out of range")
    mqtt = ports[0] if ports else 8883
    route = ports[1] if len(ports) > 1 else 6222
    return Node(name, parts[0], mqtt_port=mqtt, cluster_port=route, store=store)


def client_users(directory: Path) -> List[str]:
    """The subject DN of every client certificate (*.crt with clientAuth) in ``directory``."""
    users = []
    for path in sorted(directory.glob("*.crt")):
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
        try:
            usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        if ExtendedKeyUsageOID.CLIENT_AUTH in usages and not basic.ca:
            users.append(user_name(certificate))
    return users


def cluster_config(args: argparse.Namespace) -> int:
    rules = site_acl.parse(Path(args.acl).read_text(encoding="utf-8"), args.acl)
    stores = [parse_node(text) for text in args.node]
    nodes = stores + [parse_node(text, store=False) for text in args.access_node]
    tls = Path(args.tls_dir)
    files = [NodeFiles(tls / "ca.crt", tls / f"{n.name}.crt", tls / f"{n.name}.key") for n in nodes]
    users = [dn(kiosk) for kiosk in args.kiosk]
    for directory in args.certs:
        users += client_users(Path(directory))
    paths = write_cluster(
        Path(args.out),
        nodes=nodes,
        files=files,
        acl=rules,
        users=users,
        store_dirs=[Path(args.store)] * len(nodes),
        replicas=min(3, len(stores)),
    )
    for path in paths:
        print(path)
    print(Path(args.out) / "users.conf")
    return 0
