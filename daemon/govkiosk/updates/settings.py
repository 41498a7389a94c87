"""``[updates]``: who may sign releases, where packages come from, when they may be
installed and how long the new version has to prove itself (docs/updates.md).

Read by the daemon (offer, download, wait) and, from the same files, by the privileged
installer (``govkiosk-update``), which checks every release again with these keys.
``config.set`` cannot change this section: it is changed at the kiosk.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import List, Literal, Tuple

from ..fields import key_id_field, positive, required, setting
from ..gm import sm2
from ..gm.errors import GmError
from .manifest import ReleaseKeyPin

#: "HH:MM-HH:MM", local time; an end before the start runs over midnight.
WINDOW = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]")


@dataclass(frozen=True)
class ReleaseKey:
    """A pinned public key that signs release manifests (the release manager's, kept offline)."""

    #: The name of the release key, as signed manifests carry it (`govkioskctl fleet release pin`
    #: prints it).
    key_id: str = key_id_field()
    #: The key's public half, base64: the raw Ed25519 key (32 bytes) or the SM2 point (65 bytes).
    public_key: str = required(
        expect="a base64 Ed25519 (32 bytes) or SM2 (65 bytes) public key",
        check=lambda value: len(_decoded(value)) in (32, 65),
    )
    #: "ed25519", or "sm2-sm3" (SM2 with SM3) for sites assessed for national cryptography.
    algorithm: Literal["ed25519", "sm2-sm3"] = "ed25519"

    def config_problems(self) -> List[Tuple[str, str]]:
        raw = _decoded(self.public_key)
        if self.algorithm == "ed25519" and len(raw) != 32:
            return [("public_key", "an Ed25519 key is 32 bytes (is algorithm wrong?)")]
        if self.algorithm == "sm2-sm3":
            try:
                sm2.PublicKey.from_bytes(raw)
            except GmError as err:
                return [("public_key", f"not an SM2 public key: {err}")]
        return []

    def pin(self) -> ReleaseKeyPin:
        return ReleaseKeyPin(self.key_id, self.public_key, self.algorithm)


def _decoded(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _windows(value: Tuple[str, ...]) -> bool:
    return len(value) <= 8 and all(WINDOW.fullmatch(w) for w in value)


@dataclass(frozen=True)
class UpdateSettings:
    #: Without a key no release is accepted: updates are off.
    release_keys: Tuple[ReleaseKey, ...] = ()
    #: The site's package mirror: package files are fetched from this base URL plus their file
    #: name, over HTTPS only.
    mirror: str = setting(
        "",
        expect="an https:// base URL ending in /, or empty",
        check=lambda v: v == "" or (v.startswith("https://") and v.endswith("/")),
    )
    #: The CA certificate (PEM) the mirror's certificate is checked against; empty: the system's
    #: trusted CAs.
    mirror_ca: str = setting(
        "", expect="an absolute path, or empty", check=lambda v: v == "" or v.startswith("/")
    )
    #: The hall's service hours, local time ("HH:MM-HH:MM", at most 8): an update is installed only
    #: outside them (and only while no citizen is served), unless the offer says force.
    service_hours: Tuple[str, ...] = setting(
        ("08:00-18:00",), expect='at most 8 windows "HH:MM-HH:MM"', check=_windows
    )
    #: Seconds the new version has, from its restart, to be running and healthy; otherwise the
    #: previous packages are installed again.
    health_timeout: float = setting(120.0, expect="a number of seconds > 0", check=positive)
    #: Package sets kept for rollback besides the one installed.
    keep: int = setting(2, expect="a whole number from 1 to 10", check=lambda v: 1 <= v <= 10)
    #: The largest release, all its packages together, in MiB.
    max_mb: int = setting(
        512, expect="a whole number of MiB from 1 to 4096", check=lambda v: 0 < v <= 4096
    )
    #: One release's whole download, in seconds.
    download_timeout: float = setting(1800.0, expect="a number of seconds > 0", check=positive)
    #: Seconds to connect to the mirror, and the longest silence while a package downloads.
    connect_timeout: float = setting(15.0, expect="a number of seconds > 0", check=positive)
    #: Seconds between two looks at whether the kiosk may install now (idle, outside hours).
    recheck: float = setting(30.0, expect="a number of seconds > 0", check=positive)
    #: Where the daemon keeps downloaded packages for the installer; empty: ``updates/`` in the
    #: state directory.
    spool: str = setting(
        "", expect="an absolute path, or empty", check=lambda v: v == "" or v.startswith("/")
    )
    #: Where the privileged installer keeps its package sets and reports its phases.
    installer_dir: str = setting(
        "/var/lib/govkiosk-update", expect="an absolute path", check=lambda v: v.startswith("/")
    )

    @property
    def enabled(self) -> bool:
        return bool(self.release_keys)

    def pins(self) -> Tuple[ReleaseKeyPin, ...]:
        return tuple(k.pin() for k in self.release_keys)
