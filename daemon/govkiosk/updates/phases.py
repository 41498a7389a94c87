"""An update's phases, the event that reports each, and the files that carry them across
restarts and across the privilege boundary (pure but for small atomic JSON files).

    offered → verified → downloaded → waiting_idle → installing → restarted
            → healthy | rolled_back | failed

The daemon writes its own progress to ``<spool>/state.json``; the privileged installer
writes its to ``<installer_dir>/status.json`` (readable by the daemon). A daemon that
starts in the middle of an update (the installer restarted it) reads both and reports
what it finds, so every phase reaches ops even across the restart.
"""

from __future__ import annotations

import enum
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..bus import Event


class Phase(str, enum.Enum):
    OFFERED = "offered"
    VERIFIED = "verified"
    DOWNLOADED = "downloaded"
    WAITING_IDLE = "waiting_idle"
    INSTALLING = "installing"
    RESTARTED = "restarted"
    HEALTHY = "healthy"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in FINAL


FINAL = frozenset({Phase.HEALTHY, Phase.ROLLED_BACK, Phase.FAILED})


@dataclass(frozen=True)
class UpdatePhaseChanged(Event):
    """One step of an update, for ops (``evt/update``) and the logs; nothing personal."""

    version: str
    phase: str
    detail: str
    offer_id: str
    #: The version that was running when the update began.
    previous: str = ""


@dataclass
class Progress:
    """Where an update stands: the daemon's ``state.json`` and the installer's ``status.json``."""

    version: str
    phase: Phase
    offer_id: str = ""
    previous: str = ""
    detail: str = ""
    force: bool = False
    at: float = 0.0
    #: Phases already reported to ops (a restarted daemon does not report them twice).
    reported: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        document = asdict(self)
        document["phase"] = self.phase.value
        return document

    @classmethod
    def from_dict(cls, raw: Any) -> Optional[Progress]:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                version=str(raw["version"]),
                phase=Phase(raw["phase"]),
                offer_id=str(raw.get("offer_id", "")),
                previous=str(raw.get("previous", "")),
                detail=str(raw.get("detail", ""))[:500],
                force=bool(raw.get("force", False)),
                at=float(raw.get("at", 0.0)),
                reported=[str(p) for p in raw.get("reported", [])][:20],
            )
        except (KeyError, ValueError, TypeError):
            return None


def read(path: Path) -> Optional[Progress]:
    """The progress in ``path``; ``None`` when there is none or it cannot be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read(64 * 1024)
        return Progress.from_dict(json.loads(data.decode("utf-8")))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def write(path: Path, document: Dict[str, Any], mode: int = 0o600) -> None:
    """``document`` as JSON in ``path``, atomically (a reader finds the old or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    data = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    fd = os.open(str(temporary), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
