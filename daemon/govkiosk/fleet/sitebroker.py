"""A site broker's mosquitto configuration, for programs that run a broker of their own.

A site installs ``packaging/mosquitto/govkiosk-site.conf``. The demo
(``python -m govkiosk.demo``) and the tests start a private mosquitto instead, with the
same TLS listener — a client certificate required, its CN the username, the site ACL —
on a loopback port, as the user who starts it, its files in one directory. Both build
that configuration here, so what the demo shows is what the tests check.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import List

from .pki import CertificateAuthority


@dataclass(frozen=True)
class BrokerTls:
    """Files for the TLS listener; ``acl`` is a mosquitto ACL file (the site's: ``acl``)."""

    ca: Path
    cert: Path
    key: Path
    acl: Path

    @classmethod
    def issue(cls, ca: CertificateAuthority, directory: Path, acl: Path) -> BrokerTls:
        """Write ``ca``'s certificate and a fresh server certificate for loopback."""
        cert, key = ca.issue_server().write(directory, "broker")
        return cls(ca=ca.write(directory), cert=cert, key=key, acl=acl)


def private_settings(directory: Path) -> List[str]:
    """Global settings of a broker a user's program starts, its files in ``directory``."""
    return [
        # Each listener has its own authentication and ACL.
        "per_listener_settings true",
        # As root, mosquitto would switch to user "mosquitto", who cannot read our files.
        f"user {getpass.getuser()}",
        # Sessions and retained messages survive a restart, as on a site broker.
        "persistence true",
        f"persistence_location {directory}/",
        "log_dest stderr",
        # As on a site broker: small messages (commands, replies) are not held back.
        "set_tcp_nodelay true",
    ]


def site_listener(host: str, port: int, tls: BrokerTls) -> List[str]:
    """The TLS listener of ``govkiosk-site.conf`` on ``host:port`` (docs/ops.md, "The broker")."""
    return [
        f"listener {port} {host}",
        "allow_anonymous false",
        f"cafile {tls.ca}",
        f"certfile {tls.cert}",
        f"keyfile {tls.key}",
        "require_certificate true",
        "use_identity_as_username true",
        # The client id is the CN too: nobody takes over a kiosk's session by its id.
        "use_username_as_clientid true",
        "tls_version tlsv1.2",
        f"acl_file {tls.acl}",
    ]
