"""Fault: the state directory's filesystem fills up (a small tmpfs mounted over the
kiosk's state directory, then filled by a file). The kiosk keeps serving citizens —
a session needs no write to the disk — raises ``state_disk_full``, keeps what it would
record in memory, and when space returns writes it and raises ``state_disk_ok``.

The tests run as root (as CI does): mounting a tmpfs is how a real full disk is made
here; a machine where that is refused fails the test rather than skipping it."""

from __future__ import annotations

import asyncio
import errno
import subprocess
from pathlib import Path
from typing import BinaryIO, Iterator

import pytest

from govkiosk.bus import Alarm
from govkiosk.session.state import SessionEnded
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import WAIT, Kiosk, kiosk
from test_session_journey import to_preview

SIZE = "8m"


@pytest.fixture
def small_state_fs(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/kiosk/state`` on its own 8 MB tmpfs."""
    state = tmp_path / "kiosk" / "state"
    state.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs (run as root): {mounted.stderr}"
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], timeout=30, check=False)


def fill(directory: Path) -> Path:
    """A file that takes every free byte of ``directory``'s filesystem."""
    filler = directory / "filler"
    for mode, chunk in (("wb", b"\0" * 65536), ("ab", b"\0")):  # then the last partial block
        with filler.open(mode, buffering=0) as file:
            while _written(file, chunk):
                pass
    return filler


def _written(file: BinaryIO, chunk: bytes) -> bool:
    """Whether ``chunk`` fitted; ``False`` at "no space left"."""
    try:
        file.write(chunk)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        return False
    return True


async def alarm(k: Kiosk, code: str) -> Alarm:
    with k.daemon.bus.stream(Alarm) as alarms:
        for seen in k.events:
            if isinstance(seen, Alarm) and seen.code == code:
                return seen
        while True:
            got = await asyncio.wait_for(alarms.get(), WAIT)
            if got.code == code:
                return got


async def one_session(k: Kiosk, cupsd: CupsServer, printed: int) -> None:
    sid = await to_preview(k, "id_card_print")
    await k.session.call_choose(sid, "print")
    await k.until(step="done", state="done")
    await k.session.call_choose(sid, "finish")
    last = await k.ended()
    assert last["state"] == "done"
    assert len(cupsd.captured()) == printed


async def test_a_full_state_disk_keeps_sessions_going_alarms_and_recovers(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer, small_state_fs: Path
) -> None:
    async with kiosk(tmp_path / "kiosk", private_bus, cupsd) as k:
        assert k.state_dir == small_state_fs
        await one_session(k, cupsd, 1)
        filler = fill(small_state_fs)

        await one_session(k, cupsd, 2)  # its usage count cannot be written
        full = await alarm(k, "state_disk_full")
        assert str(small_state_fs) in full.message
        # The UI's item list still answers (it reads the counts it could not write).
        assert await k.session.call_frequent_items(3) != []
        await one_session(k, cupsd, 3)
        assert k.daemon.runtime.store.full

        filler.unlink()  # space returns: the counts waiting in memory reach the disk
        await one_session(k, cupsd, 4)
        await alarm(k, "state_disk_ok")
        assert not k.daemon.runtime.store.full
        rows = await k.daemon.runtime.store.fetchall(
            "SELECT item_code, outcome, count FROM usage_sessions"
        )
        ended = [e for e in k.events if isinstance(e, SessionEnded)]
        assert len(ended) == 4
        assert sum(row["count"] for row in rows if row["item_code"] == "id_card_print") == 4
        # No service died of it (a restart loop would fill the log instead of the disk).
        log = k.log.read_text(encoding="utf-8")
        assert "failed unexpectedly" not in log
        assert log.count("the state database cannot be written") == 1
