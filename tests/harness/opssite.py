"""An ops site on loopback: site CA, a broker with TLS and the shipped ACL (mosquitto, or a
three-node NATS cluster: ``Site.create(…, kind="nats")``), operator keys, and a kiosk
configuration pointing at it — for the ops tests and the benchmarks."""

from __future__ import annotations

import asyncio
import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple

import aiomqtt

from govkiosk.cli.fleet import pinned
from govkiosk.fleet import acl as site_acl
from govkiosk.fleet.client import Identity
from govkiosk.fleet.natscluster import dn
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.sitebroker import BrokerTls
from govkiosk.ops.signing import SM2, OperatorSigner

from .mosquitto import Broker
from .nats import NatsCluster

#: How long a test waits for one message on the site broker.
MESSAGE_TIMEOUT = 20.0

REPO = Path(__file__).resolve().parents[2]
ACL = REPO / "packaging" / "mosquitto" / "acl"

#: One key per role; the ids are what the kiosk pins.
ROLES = ("viewer", "operator", "admin", "auditor")
#: The certificates a cluster site lets in besides the ACL's named ones (a NATS user per DN):
#: the kiosk of harness.govkioskd.CONFIG and the other identities the tests connect with.
CLUSTER_KIOSKS = (
    "test-hlj-0001",
    "kiosk-a",
    "kiosk-b",
    "kiosk-other",
    "kiosk-sentinel",
)


@dataclass
class Site:
    directory: Path
    ca: CertificateAuthority
    broker: Optional[Broker]
    signers: Dict[str, OperatorSigner]
    cluster: Optional[NatsCluster] = None

    @classmethod
    def create(
        cls,
        directory: Path,
        kind: str = "mosquitto",
        kiosks: Iterable[str] = CLUSTER_KIOSKS,
        nodes: int = 3,
        access: int = 2,
    ) -> Site:
        # A site's certificates last a year: the kiosk alarms 30 days before its own expires.
        ca = CertificateAuthority(validity=datetime.timedelta(days=365))
        pki = directory / "pki"
        directory.mkdir(parents=True, exist_ok=True)
        broker: Optional[Broker] = None
        cluster: Optional[NatsCluster] = None
        if kind == "nats":
            rules = site_acl.parse(ACL.read_text(encoding="utf-8"), str(ACL))
            users = [dn(k) for k in kiosks]
            cluster = NatsCluster(directory / "cluster", ca, rules, users, nodes, access=access)
            try:
                cluster.start()
            except BaseException:
                cluster.stop()  # no node outlives a cluster that never became ready
                raise
        else:
            acl = directory / "acl"
            shutil.copyfile(ACL, acl)
            broker = Broker(directory / "broker", BrokerTls.issue(ca, pki, acl))
            broker.start()
        signers = {role: OperatorSigner.generate(f"{role}-key-1") for role in ROLES}
        # A second admin, for the changes that need two (ops/remote_config.py), with an SM2
        # key: a site assessed for national cryptography may mix both algorithms.
        signers["admin2"] = OperatorSigner.generate("admin-key-2", SM2)
        return cls(directory, ca, broker, signers, cluster)

    @property
    def kind(self) -> str:
        return "nats" if self.cluster is not None else "mosquitto"

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
        if self.cluster is not None:
            self.cluster.stop()

    def output(self) -> str:
        if self.cluster is not None:
            return self.cluster.output()
        return self.broker.output() if self.broker is not None else ""

    def identity(
        self, name: str, node: Optional[int] = None, *, sm2_ca: Optional[Path] = None
    ) -> Identity:
        """An operator (or, for ACL tests, any CN) connecting to the TLS listener: of the
        cluster's ``node`` (an index of its nodes), by default of the first node kiosks are
        given (an access node: where an attacker among the kiosks would connect);
        ``sm2_ca``: the site's SM2 signing CA, to check SM2-signed replies with."""
        cert, key = self.ca.issue_client(name).write(self.directory / "pki", name)
        if self.cluster is not None:
            nodes = self.cluster.nodes
            target = self.cluster.entry_nodes[0] if node is None else nodes[node]
            return Identity(target.host, target.mqtt_port, self.ca_file, cert, key, sm2_ca)
        assert self.broker is not None
        assert self.broker.tls_port is not None
        return Identity(self.broker.host, self.broker.tls_port, self.ca_file, cert, key, sm2_ca)

    def broker_settings(self) -> Dict[str, object]:
        """``[ops]``'s broker address(es): ``host``/``port``, or a cluster's ``servers``."""
        if self.cluster is not None:
            return {"servers": self.cluster.addresses}
        assert self.broker is not None
        return {"host": self.broker.host, "port": self.broker.tls_port}

    @property
    def ca_file(self) -> Path:
        return self.ca.write(self.directory / "pki")

    def kiosk_files(self, kiosk_id: str) -> Tuple[Path, Path]:
        return self.ca.issue_client(kiosk_id).write(self.directory / "pki", kiosk_id)

    def ops_section(self, kiosk_id: str, **extra: object) -> str:
        """``[ops]`` for a kiosk of this site, with every role's key pinned."""
        cert, key = self.kiosk_files(kiosk_id)
        settings: Dict[str, object] = {
            **self.broker_settings(),
            "ca": str(self.ca_file),
            "cert": str(cert),
            "key": str(key),
            "reconnect_initial": 0.1,
            "reconnect_max": 0.5,
            "settle_time": 0.5,
            **extra,
        }
        lines = ["[ops]"] + [f"{k} = {_toml(v)}" for k, v in settings.items()]
        tables = [pinned(signer, [role.rstrip("2")]) for role, signer in self.signers.items()]
        return "\n".join(lines) + "\n\n" + "\n".join(tables)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"'


def raw(identity: Identity, client_id: str, clean: bool = True) -> aiomqtt.Client:
    """A plain MQTT client with ``identity``'s certificate: an attacker, a dashboard."""
    return aiomqtt.Client(
        identity.host,
        identity.port,
        identifier=client_id,
        tls_context=identity.tls(),
        clean_session=clean,
    )


async def next_payload(client: aiomqtt.Client) -> Dict[str, Any]:
    message = await asyncio.wait_for(client.messages.__anext__(), MESSAGE_TIMEOUT)
    return {"topic": message.topic.value, "payload": bytes(message.payload)}  # type: ignore[arg-type]
