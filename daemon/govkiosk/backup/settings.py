"""``[backup]``: where backups go and how many stay (§8 e)."""

from __future__ import annotations

from dataclasses import dataclass

from ..fields import setting


@dataclass(frozen=True)
class BackupSettings:
    dir: str = setting(
        "/var/backups/govkiosk", expect="an absolute path", check=lambda v: v.startswith("/")
    )
    keep: int = setting(
        8, expect="a whole number of backups between 1 and 100", check=lambda v: 0 < v <= 100
    )
