"""How old the maintenance PIN is, and the PIN changed on the kiosk (§8 f).

The configuration's ``pin_hash`` carries its date in ``pin_set``. A PIN changed through
``Maintenance1.ChangePin`` is kept in the state directory (:data:`PIN_FILE`: the salted
hash and the day, never the PIN) so the change outlives a restart without rewriting the
site's configuration; whichever of the two is newer is in force.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .pin import is_pin_hash
from .settings import MaintenanceSettings

#: In the state directory: ``{"pin_hash": ..., "pin_set": "YYYY-MM-DD"}``.
PIN_FILE = "maintenance-pin.json"


@dataclass(frozen=True)
class PinRecord:
    pin_hash: str
    #: The day the PIN was set; ``None``: unknown (an old configuration without ``pin_set``).
    set_on: Optional[datetime.date]


def from_settings(settings: MaintenanceSettings) -> PinRecord:
    set_on = datetime.date.fromisoformat(settings.pin_set) if settings.pin_set else None
    return PinRecord(settings.pin_hash, set_on)


def in_force(configured: PinRecord, kept: Optional[PinRecord]) -> PinRecord:
    """The newer of the configured PIN and the one changed on the kiosk."""
    if kept is None or not kept.pin_hash:
        return configured
    newer = (
        configured.pin_hash
        and configured.set_on is not None
        and kept.set_on is not None
        and configured.set_on > kept.set_on
    )
    return configured if newer else kept


def days_left(record: PinRecord, max_age_days: int, today: datetime.date) -> Optional[int]:
    """Days until the PIN expires (0 or less: expired); ``None``: it does not expire here."""
    if max_age_days <= 0 or record.set_on is None:
        return None
    return (record.set_on + datetime.timedelta(days=max_age_days) - today).days


def load(path: Path) -> Optional[PinRecord]:
    """The kept PIN; ``None`` when there is none or the file is not one we wrote."""
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def parse(text: str) -> Optional[PinRecord]:
    """:data:`PIN_FILE`'s content; ``None`` for anything but what :func:`save` writes."""
    try:
        data = json.loads(text)
        pin_hash, set_on = data["pin_hash"], datetime.date.fromisoformat(data["pin_set"])
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if not isinstance(pin_hash, str) or not is_pin_hash(pin_hash):
        return None
    return PinRecord(pin_hash, set_on)


def save(path: Path, record: PinRecord) -> None:
    """Write, fsync, rename: a crash leaves the old PIN or the new one, never half of one."""
    set_on = record.set_on.isoformat() if record.set_on else ""
    scratch = path.with_suffix(".tmp")
    with open(os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump({"pin_hash": record.pin_hash, "pin_set": set_on}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)
