"""``[backup]``: where backups go, how many stay, the key and the packages (§8 e)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Tuple

from ..fields import setting

_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]*\Z")


def _packages(value: Tuple[str, ...]) -> bool:
    return all(isinstance(v, str) and _PACKAGE.match(v) for v in value)


@dataclass(frozen=True)
class BackupSettings:
    #: Where backups are written (`govkioskctl backup`, the weekly govkiosk-backup.timer): one
    #: encrypted archive each. Best a separate disk or a mounted share; never the directory of
    #: `key_file`.
    dir: str = setting(
        "/var/backups/govkiosk", expect="an absolute path", check=lambda v: v.startswith("/")
    )
    #: How many backups stay in `dir`: after each new one the oldest beyond this number are deleted.
    #: With the weekly timer, 8 keeps about two months.
    keep: int = setting(
        8, expect="a whole number of backups between 1 and 100", check=lambda v: 0 < v <= 100
    )
    # The AES-256 key (64 hex digits) that encrypts every backup. It stays on the kiosk
    # (and in the integrator's safe), never on the backup medium, and is left out of the
    # backed-up configuration.
    key_file: str = setting(
        "/etc/govkiosk/backup.key", expect="an absolute path", check=lambda v: v.startswith("/")
    )
    #: How backups are encrypted: "aes-256-gcm", or "sm4" (SM4-CTR with HMAC-SM3, China's
    #: national algorithms, for sites assessed under GB/T 39786). Restore reads either,
    #: whatever this says.
    cipher: Literal["aes-256-gcm", "sm4"] = "aes-256-gcm"
    # The installed application packages whose names and versions are recorded, and whose
    # .deb/.rpm files are copied from package_dir when they are there.
    packages: Tuple[str, ...] = setting(
        ("govkiosk", "govkiosk-ui"), expect="a list of package names", check=_packages
    )
    #: Where the installed packages' .deb/.rpm files are looked for, to be copied into the backup so
    #: a restore can reinstall the same versions: /var/cache/apt/archives on Debian-based systems,
    #: the dnf cache or a directory of your own on RPM-based ones.
    package_dir: str = setting(
        "/var/cache/apt/archives", expect="an absolute path", check=lambda v: v.startswith("/")
    )
