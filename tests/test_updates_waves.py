"""The wave planner and the pause rule of ``fleet release`` (pure, and ``drive`` with a
stand-in fleet: offers answered at once, phases fed through the queue)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govkiosk.fleet.release import (
    DONE,
    PAUSED,
    REFUSED,
    TIMED_OUT,
    ReleaseError,
    Rollout,
    drive,
    failed_share,
    plan,
)

KIOSKS = [f"hl-hrb-{n:04d}" for n in range(40)]
SIGNED = {"release": {"version": "0.2.0"}, "key_id": "k", "sig_alg": "ed25519", "signature": ""}


def test_waves_are_a_canary_then_growing_shares_of_the_fleet() -> None:
    waves = plan(KIOSKS, (5, 25, 50, 100))
    assert [len(w) for w in waves] == [2, 8, 10, 20]
    assert sorted(k for w in waves for k in w) == sorted(KIOSKS)
    # The same fleet, in any order, gives the same waves (the hash of each id decides).
    assert plan(list(reversed(KIOSKS)), (5, 25, 50, 100)) == waves
    # A small fleet still has a canary of one kiosk, and no empty wave.
    assert plan(KIOSKS[:3], (5, 25, 50, 100)) == [w for w in plan(KIOSKS[:3]) if w]
    assert [len(w) for w in plan(KIOSKS[:3], (5, 25, 50, 100))] == [1, 1, 1]
    with pytest.raises(ReleaseError):
        plan(KIOSKS, (5, 50))
    with pytest.raises(ReleaseError):
        plan(KIOSKS, (50, 25, 100))


@given(
    st.lists(st.text(min_size=1, max_size=8), max_size=60), st.lists(st.integers(1, 99), max_size=4)
)
def test_every_kiosk_is_in_exactly_one_wave(kiosks: List[str], shares: List[int]) -> None:
    percents = [*sorted(set(shares)), 100]
    waves = plan(kiosks, percents)
    flat = [k for w in waves for k in w]
    assert sorted(flat) == sorted(set(kiosks))
    assert all(waves)
    if kiosks:
        assert len(waves[0]) >= 1


def test_the_failed_share_counts_only_final_failures() -> None:
    results = {
        "a": {"phase": "healthy"},
        "b": {"phase": "rolled_back"},
        "c": {"phase": "installing"},
        "d": {"phase": TIMED_OUT},
    }
    assert failed_share(["a", "b", "c", "d"], results) == 0.5
    assert failed_share([], results) == 0.0


Phase = Tuple[str, str, str, str]


async def _run(
    tmp_path: Path,
    outcome: Dict[str, str],
    *,
    threshold: float = 0.0,
    refuse: Tuple[str, ...] = (),
    wave_timeout: float = 30.0,
) -> Tuple[Rollout, List[List[str]]]:
    rollout = Rollout.create(
        tmp_path / "rollout.json", SIGNED, KIOSKS[:20], (5, 50, 100),
        threshold=threshold, wave_timeout=wave_timeout,
    )  # fmt: skip
    events: asyncio.Queue[Phase] = asyncio.Queue()
    offered: List[List[str]] = []

    async def offer(kiosks: List[str]) -> Dict[str, Optional[Tuple[str, str]]]:
        offered.append(kiosks)
        for kiosk in kiosks:
            if kiosk in refuse:
                continue
            events.put_nowait((kiosk, "0.2.0", "installing", ""))
            if kiosk in outcome:
                events.put_nowait((kiosk, "0.2.0", outcome[kiosk], ""))
            else:
                events.put_nowait((kiosk, "0.1.9", "healthy", "another release"))
                events.put_nowait((kiosk, "0.2.0", "healthy", ""))
        return {
            k: ("REJECTED", "bad_signature") if k in refuse else ("SUCCEEDED", "") for k in kiosks
        }

    await drive(rollout, offer, events)
    return rollout, offered


async def test_a_healthy_rollout_runs_every_wave(tmp_path: Path) -> None:
    rollout, offered = await _run(tmp_path, {})
    assert rollout.status == DONE
    assert [len(w) for w in offered] == [1, 9, 10]
    assert {r["phase"] for r in rollout.results.values()} == {"healthy"}
    kept = json.loads((tmp_path / "rollout.json").read_text())
    assert kept["status"] == DONE


async def test_a_rolled_back_canary_pauses_before_the_next_wave(tmp_path: Path) -> None:
    canary = plan(KIOSKS[:20], (5, 50, 100))[0][0]
    rollout, offered = await _run(tmp_path, {canary: "rolled_back"})
    assert rollout.status == PAUSED
    assert offered == [[canary]]  # nobody else was offered the release
    assert "wave 1" in rollout.reason
    assert Rollout.load(tmp_path / "rollout.json").status == PAUSED
    # resumed (the operator decided), the next waves run
    rollout.status = "running"
    events: asyncio.Queue[Phase] = asyncio.Queue()

    async def offer(kiosks: List[str]) -> Dict[str, Optional[Tuple[str, str]]]:
        for kiosk in kiosks:
            events.put_nowait((kiosk, "0.2.0", "healthy", ""))
        return dict.fromkeys(kiosks, ("SUCCEEDED", ""))

    await drive(rollout, offer, events)
    assert rollout.status == DONE
    assert rollout.results[canary]["phase"] == "rolled_back"


async def test_a_threshold_tolerates_some_failures(tmp_path: Path) -> None:
    second = plan(KIOSKS[:20], (5, 50, 100))[1]
    rollout, _ = await _run(tmp_path, {second[0]: "failed"}, threshold=0.2)
    assert rollout.status == DONE  # 1 of 9 is 11 %, under 20 %


async def test_a_refused_offer_and_a_silent_kiosk_count_as_failures(tmp_path: Path) -> None:
    canary = plan(KIOSKS[:20], (5, 50, 100))[0][0]
    rollout, _ = await _run(tmp_path, {}, refuse=(canary,))
    assert rollout.status == PAUSED
    assert rollout.results[canary] == {**rollout.results[canary], "phase": REFUSED}
    silent = tmp_path / "silent"
    silent.mkdir()
    rollout, _ = await _run(silent, {canary: "installing"}, wave_timeout=0.2)
    assert rollout.status == PAUSED
    assert rollout.results[canary]["phase"] == TIMED_OUT


def test_a_second_rollout_in_the_same_file_is_refused(tmp_path: Path) -> None:
    Rollout.create(tmp_path / "r.json", SIGNED, KIOSKS)
    with pytest.raises(ReleaseError, match="already"):
        Rollout.create(tmp_path / "r.json", SIGNED, KIOSKS)


async def test_the_kiosks_an_aborted_rollout_updated_are_known(tmp_path: Path) -> None:
    canary = plan(KIOSKS[:20], (5, 50, 100))[0][0]
    second = plan(KIOSKS[:20], (5, 50, 100))[1]
    rollout, _ = await _run(tmp_path, {second[0]: "rolled_back"})
    assert rollout.status == PAUSED
    healthy = Rollout.load(tmp_path / "rollout.json").kiosks_in("healthy")
    assert healthy == sorted([canary, *second[1:]])
