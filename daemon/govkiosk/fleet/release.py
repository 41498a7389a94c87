"""Releases rolled out in waves (operator's side; docs/updates.md).

A rollout offers one signed release (``update.offer``) to a fleet wave by wave: a canary
share first (at least one kiosk), then growing percentages. Each wave waits for every
kiosk's final phase (``evt/update``: healthy, rolled_back, failed) or its timeout; when the
share of kiosks that did not end healthy passes the threshold (default 0: any failure),
the rollout pauses before the next wave. ``resume`` goes on, ``abort`` stops for good.
Kiosks are put in waves by the SHA-256 of their id, so a re-run plans the same waves.

The rollout's state is one JSON file the operator keeps (:class:`Rollout`); every change
is written before the next step, so a stopped ``fleet release run`` continues where it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import GovkioskError
from ..timeouts import wait_for
from ..updates import manifest

#: The phases that end an update on a kiosk; "healthy" is the one success.
FINAL = ("healthy", "rolled_back", "failed")
#: What a kiosk that did not reach a final phase in time counts as.
TIMED_OUT = "timeout"
#: A kiosk refused the offer (its reply FAILED or REJECTED: a signature, a version rule).
REFUSED = "refused"
DEFAULT_WAVES = (5.0, 25.0, 50.0, 100.0)

RUNNING = "running"
PAUSED = "paused"
ABORTED = "aborted"
DONE = "done"


class ReleaseError(GovkioskError):
    """A release or a rollout that cannot go on as asked."""


def describe_packages(paths: Sequence[Path]) -> List[Dict[str, Any]]:
    """The ``packages`` of a release manifest, read from the files."""
    described = []
    for path in paths:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        kind = path.suffix.lstrip(".")
        described.append(
            {
                "file": path.name,
                "format": kind,
                "size": path.stat().st_size,
                "sha256": digest.hexdigest(),
            }
        )
    return described


def release_body(
    version: str,
    packages: Sequence[Path],
    *,
    min_version: str = "0",
    valid_days: float = 30.0,
    rollback: bool = False,
    notes: str = "",
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """An unsigned release manifest for ``packages`` (sign it with :func:`manifest.sign`)."""
    issued = time.time() if now is None else now
    body: Dict[str, Any] = {
        "format": manifest.FORMAT,
        "product": manifest.PRODUCT,
        "version": version,
        "min_version": min_version,
        "not_after": int(issued + valid_days * 86400),
        "rollback": rollback,
        "packages": describe_packages(packages),
    }
    if notes:
        body["notes"] = notes
    return body


def _rank(kiosk_id: str) -> str:
    return hashlib.sha256(kiosk_id.encode("utf-8")).hexdigest()


def plan(kiosks: Sequence[str], percents: Sequence[float] = DEFAULT_WAVES) -> List[List[str]]:
    """Waves of kiosks: cumulative ``percents`` of the fleet (the last must be 100), each
    wave at least one kiosk, kiosks ordered by the SHA-256 of their id."""
    if not percents or percents[-1] != 100 or any(not 0 < p <= 100 for p in percents):
        raise ReleaseError("waves: percentages in (0, 100], the last one 100")
    if list(percents) != sorted(percents):
        raise ReleaseError("waves: percentages must grow")
    ordered = sorted(set(kiosks), key=_rank)
    waves: List[List[str]] = []
    taken = 0
    for percent in percents:
        upto = max(taken + 1, math.ceil(len(ordered) * percent / 100))
        upto = min(upto, len(ordered))
        if upto > taken:
            waves.append(ordered[taken:upto])
        taken = upto
    return waves


def failed_share(kiosks: Sequence[str], results: Dict[str, Dict[str, Any]]) -> float:
    """The share of ``kiosks`` whose update did not end healthy (not yet ended counts not)."""
    if not kiosks:
        return 0.0
    bad = sum(
        1
        for k in kiosks
        if k in results
        and results[k].get("phase") not in ("healthy", None)
        and results[k].get("phase") in (*FINAL, TIMED_OUT, REFUSED)
    )
    return bad / len(kiosks)


@dataclass
class Wave:
    percent: float
    kiosks: List[str]
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass
class Rollout:
    """A release on its way through the fleet; saved as JSON in ``path``."""

    path: Path
    release: Dict[str, Any]
    version: str
    waves: List[Wave]
    threshold: float = 0.0
    wave_timeout: float = 3600.0
    force: bool = False
    status: str = RUNNING
    wave: int = 0  #: the next wave to start, or the one running
    reason: str = ""
    results: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        path: Path,
        signed: Dict[str, Any],
        kiosks: Sequence[str],
        percents: Sequence[float] = DEFAULT_WAVES,
        *,
        threshold: float = 0.0,
        wave_timeout: float = 3600.0,
        force: bool = False,
    ) -> Rollout:
        if path.exists():
            raise ReleaseError(f"{path}: a rollout is kept there already (status, resume)")
        version = str(signed.get("release", {}).get("version", ""))
        if not version:
            raise ReleaseError("the signed release names no version")
        waves = [Wave(p, w) for p, w in zip(percents, plan(kiosks, percents))]
        rollout = cls(path, signed, version, waves, threshold, wave_timeout, force)
        rollout.save()
        return rollout

    @classmethod
    def load(cls, path: Path) -> Rollout:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            raw["waves"] = [Wave(**w) for w in raw["waves"]]
            return cls(path=path, **raw)
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise ReleaseError(f"{path}: not a rollout state: {err}") from err

    def save(self) -> None:
        document = asdict(self)
        document.pop("path")
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def note(self, kiosk_id: str, phase: str, detail: str = "", at: float = 0.0) -> bool:
        """A kiosk's phase; ``True`` when it changed what is known."""
        known = self.results.get(kiosk_id, {})
        if known.get("phase") in (*FINAL, REFUSED):
            return False  # a final phase stays (a late "installing" repeated changes nothing)
        self.results[kiosk_id] = {"phase": phase, "detail": detail[:300], "at": at or time.time()}
        return True

    def pending(self, kiosks: Sequence[str]) -> List[str]:
        final = (*FINAL, TIMED_OUT, REFUSED)
        return [k for k in kiosks if self.results.get(k, {}).get("phase") not in final]

    def judge(self) -> None:
        """After a wave: pause when its failed share passes the threshold, else go on."""
        wave = self.waves[self.wave]
        share = failed_share(wave.kiosks, self.results)
        self.wave += 1
        if share > self.threshold:
            self.status = PAUSED
            self.reason = (
                f"wave {self.wave} ({len(wave.kiosks)} kiosk(s)): {share:.0%} not healthy,"
                f" over the threshold {self.threshold:.0%}"
            )
        elif self.wave >= len(self.waves):
            self.status = DONE
            self.reason = ""

    def kiosks_in(self, phase: str) -> List[str]:
        """The kiosks whose last phase is ``phase`` (``healthy``: those a rollback would
        take back after an abort)."""
        return sorted(k for k, r in self.results.items() if r.get("phase") == phase)

    def summary(self) -> Dict[str, Any]:
        counts: Dict[str, int] = {}
        for result in self.results.values():
            counts[result["phase"]] = counts.get(result["phase"], 0) + 1
        return {
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "next_wave": self.wave + 1 if self.wave < len(self.waves) else None,
            "waves": [
                {
                    "wave": i + 1,
                    "percent": w.percent,
                    "kiosks": len(w.kiosks),
                    "healthy": sum(
                        1 for k in w.kiosks if self.results.get(k, {}).get("phase") == "healthy"
                    ),
                    "failed_share": failed_share(w.kiosks, self.results),
                    "started_at": w.started_at,
                    "finished_at": w.finished_at,
                }
                for i, w in enumerate(self.waves)
            ],
            "phases": counts,
        }


#: Sends ``update.offer`` to kiosks; kiosk id → (reply status, detail), ``None``: no answer.
Offer = Callable[[List[str]], Awaitable[Dict[str, Optional[Tuple[str, str]]]]]


async def drive(
    rollout: Rollout,
    offer: Offer,
    events: asyncio.Queue[Tuple[str, str, str, str]],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Rollout:
    """Run waves until done, paused or aborted: offer, collect phases, judge, save."""
    while rollout.status == RUNNING and rollout.wave < len(rollout.waves):
        wave = rollout.waves[rollout.wave]
        if not wave.started_at:
            wave.started_at = time.time()
            rollout.save()
        await _offer(rollout, wave, offer)
        await _collect(rollout, wave, events, clock() + rollout.wave_timeout, clock)
        wave.finished_at = time.time()
        rollout.judge()
        rollout.save()
    return rollout


async def _offer(rollout: Rollout, wave: Wave, offer: Offer) -> None:
    fresh = [k for k in wave.kiosks if k not in rollout.results]
    if not fresh:
        return
    for kiosk_id, answer in (await offer(fresh)).items():
        if answer is None:
            rollout.note(kiosk_id, "offer_unanswered")
        elif answer[0] != "SUCCEEDED":
            rollout.note(kiosk_id, REFUSED, answer[1])
        else:
            rollout.note(kiosk_id, "offered")
    rollout.save()


async def _collect(
    rollout: Rollout,
    wave: Wave,
    events: asyncio.Queue[Tuple[str, str, str, str]],
    deadline: float,
    clock: Callable[[], float],
) -> None:
    """Phases until every kiosk of the wave reached a final one, or the deadline."""
    while rollout.pending(wave.kiosks):
        left = deadline - clock()
        if left <= 0:
            for kiosk_id in rollout.pending(wave.kiosks):
                rollout.note(kiosk_id, TIMED_OUT, "no final phase within the wave's timeout")
            return
        try:
            kiosk_id, version, phase, detail = await wait_for(events.get(), left)
        except asyncio.TimeoutError:
            continue
        ours = version == rollout.version and kiosk_id in wave.kiosks
        if ours and rollout.note(kiosk_id, phase, detail):
            rollout.save()
