"""An ops site on loopback: site CA, mosquitto with TLS and the shipped ACL, operator keys,
and a kiosk configuration pointing at it — for the ops tests and the benchmark."""

from __future__ import annotations

import asyncio
import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import aiomqtt

from govkiosk.cli.fleet import pinned
from govkiosk.fleet.client import Identity
from govkiosk.fleet.pki import CertificateAuthority
from govkiosk.fleet.sitebroker import BrokerTls
from govkiosk.ops.signing import SM2, OperatorSigner

from .mosquitto import Broker

#: How long a test waits for one message on the site broker.
MESSAGE_TIMEOUT = 20.0

REPO = Path(__file__).resolve().parents[2]
ACL = REPO / "packaging" / "mosquitto" / "acl"

#: One key per role; the ids are what the kiosk pins.
ROLES = ("viewer", "operator", "admin", "auditor")


@dataclass
class Site:
    directory: Path
    ca: CertificateAuthority
    broker: Broker
    signers: Dict[str, OperatorSigner]

    @classmethod
    def create(cls, directory: Path) -> Site:
        # A site's certificates last a year: the kiosk alarms 30 days before its own expires.
        ca = CertificateAuthority(validity=datetime.timedelta(days=365))
        pki = directory / "pki"
        directory.mkdir(parents=True, exist_ok=True)
        acl = directory / "acl"
        shutil.copyfile(ACL, acl)
        broker = Broker(directory / "broker", BrokerTls.issue(ca, pki, acl))
        broker.start()
        signers = {role: OperatorSigner.generate(f"{role}-key-1") for role in ROLES}
        # A second admin, for the changes that need two (ops/remote_config.py), with an SM2
        # key: a site assessed for national cryptography may mix both algorithms.
        signers["admin2"] = OperatorSigner.generate("admin-key-2", SM2)
        return cls(directory, ca, broker, signers)

    def stop(self) -> None:
        self.broker.stop()

    def identity(self, name: str, *, sm2_ca: Optional[Path] = None) -> Identity:
        """An operator (or, for ACL tests, any CN) connecting to the TLS listener;
        ``sm2_ca``: the site's SM2 signing CA, to check SM2-signed replies with."""
        cert, key = self.ca.issue_client(name).write(self.directory / "pki", name)
        assert self.broker.tls_port is not None
        return Identity(self.broker.host, self.broker.tls_port, self.ca_file, cert, key, sm2_ca)

    @property
    def ca_file(self) -> Path:
        return self.ca.write(self.directory / "pki")

    def kiosk_files(self, kiosk_id: str) -> Tuple[Path, Path]:
        return self.ca.issue_client(kiosk_id).write(self.directory / "pki", kiosk_id)

    def ops_section(self, kiosk_id: str, **extra: object) -> str:
        """``[ops]`` for a kiosk of this site, with every role's key pinned."""
        cert, key = self.kiosk_files(kiosk_id)
        settings: Dict[str, object] = {
            "host": self.broker.host,
            "port": self.broker.tls_port,
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
