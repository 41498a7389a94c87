"""A short soak: citizen sessions through the whole kiosk, ``govkioskd`` a real process
(harness.soak), with the long soak's checks (``python -m bench soak``): after the warm-up
nothing the daemon holds grows beyond its tolerance (harness.soak.TOLERANCES), every
session ended as its scenario means it to, the daemon counted every one, and no
simulated citizen's personal data is left in the state directory, logs or temp files."""

from __future__ import annotations

from pathlib import Path

import pytest

from govkiosk.items.catalogue import default_catalogue
from harness.soak import MIX, TOLERANCES, Report, Sample, growth, soak

#: What fits in about a minute on the CI machine (2 busy cores): the face check watches
#: the camera for seconds, the other sessions take well under one.
SESSIONS = 48
WARMUP = 24  # past the first 18: every item printed, every scenario run once
EVERY = 12

#: How each scenario may end: the session's last state as the UI saw it.
ENDINGS = {
    "print": {"done"},
    "print_face": {"done"},
    "paper_out": {"done"},
    "timeout_done": {"done"},
    "timeout_identity": {"expired"},
    "timeout_consent": {"expired"},
    "timeout_preview": {"expired"},
    "walkaway": {"expired"},
}


@pytest.mark.timeout(240)
async def test_short_soak_grows_nothing_and_leaves_nothing_personal(tmp_path: Path) -> None:
    report: Report = await soak(tmp_path / "soak", SESSIONS, warmup=WARMUP, every=EVERY)
    assert report.growth == []
    assert [s.sessions for s in report.samples] == [24, 36, 48]
    last = report.samples[-1]
    assert sum(last.outcomes.values()) == SESSIONS
    assert report.daemon_sessions == SESSIONS  # the daemon's own statistics lost none
    published = default_catalogue().codes
    assert sorted(report.by_item) == sorted(published)
    assert all(report.by_item[code].get("done", 0) >= 1 for code in published), report.by_item
    for key, count in last.outcomes.items():
        scenario, ending = key.split(":")
        assert ending in ENDINGS.get(scenario, {"cancelled"}), (key, count)
    assert {key.split(":")[0] for key in last.outcomes} >= {"print", "paper_out", "walkaway"}
    assert last.children >= 1  # the face worker, still the one it was (growth: children)
    assert last.outbox <= TOLERANCES["outbox"].fixed
    assert {s.ops_link for s in report.samples} == {"connected"}
    assert report.scanned > 5  # the database, its WAL, the logs at least


def test_growth_names_the_figure_and_allows_per_session_growth() -> None:
    def at(sessions: int, **figures: int) -> Sample:
        base = dict.fromkeys(TOLERANCES, 0)
        base.update(figures)
        base.setdefault("db_file_bytes", 0)
        return Sample(sessions=sessions, seconds=0.0, outcomes={}, ops_link="connected", **base)

    start = at(200, fds=20, sqlite_bytes=100_000)
    assert growth(start, at(10_200, fds=22, sqlite_bytes=100_000 + 500 * 10_000)) == []
    fds = growth(start, at(10_200, fds=20 + 5))
    assert len(fds) == 1
    assert fds[0].startswith("fds: 20 -> 25 over 10000 sessions")
    rows = growth(start, at(10_200, sqlite_bytes=100_000 + 2048 * 10_000))
    assert len(rows) == 1
    assert rows[0].startswith("sqlite_bytes:")
    assert {name for name, _ in MIX} >= {"print", "print_face", "walkaway", "paper_out"}
