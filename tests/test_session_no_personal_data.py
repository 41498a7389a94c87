"""§8 d after 200 sessions: nothing of the simulated citizens is left on disk.

One kiosk (harness.kiosk) serves 200 synthetic citizens: each reaches the confirm
screen, consents or not, sees the preview, and mostly cancels; every 25th prints. Every
fourth applies for an item that compares the face at the camera with the card's photo
(人证核验), and looks at the camera picture while it does.
Then every file that the run could have written is searched for every name, ID
number and address, in every encoding a component might use (UTF-8, GB18030 as the
receipt printer speaks, UTF-16 as PDF strings hold them):

- the daemon's state directory (SQLite database, WAL, anything else in it),
- the daemon's log (the production filter and format) and cupsd's logs,
- CUPS's spool, cache and state directories (job files are purged after printing),
- every file in the system temp directory written during the run.

They are also searched for image data — JPEG, PNG, BMP, WebP, the simulated card photo's
header, NumPy arrays: faces, card photos and camera frames live in memory only.

Excluded, and only these: the capture backend's ``job-N`` files, which are the printed
paper itself, handed to the citizen; and the demo department's seal directory (its own
keys and electronic seals, whose pictures are images), which is not the kiosk's; and other
pytest runs' temporary directories (tests running beside this one on a shared machine).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Set

import pytest

from govkiosk.contract.logs import WITHHELD
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.kiosk import Kiosk, kiosk
from harness.personal import scan, written_files

SESSIONS = 200
PRINT_EVERY = 25
FACE_EVERY = 4


async def one_session(k: Kiosk, number: int, terms: Set[str]) -> None:
    face = number % FACE_EVERY == 0
    item = "no_criminal_record" if face else "id_card_print"
    sid = await k.session.call_start_session(item, "zh_CN")
    await k.until(step="identity", state="waiting")
    identity = await k.card()
    terms.update({identity.name, identity.id_number, identity.address})
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    if face:
        await k.until(step="face_verify", camera="face")
        frame, _outline = await k.camera_frame(sid)
        assert frame.startswith(b"\xff\xd8")
    await k.until(step="consent", state="waiting")
    if number % 10 == 1:
        await k.session.call_choose(sid, "disagree")
        await k.ended()
        return
    await k.session.call_choose(sid, "agree")
    await k.until(step="preview", state="waiting")
    await k.session.call_get_preview(sid, 0)
    if number % PRINT_EVERY:
        await k.session.call_cancel(sid)
        return
    await k.session.call_choose(sid, "print")
    await k.until(state="done")
    await k.session.call_choose(sid, "finish")
    await k.ended()


@pytest.mark.timeout(300)
async def test_200_sessions_leave_nothing_personal_on_disk(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    started = time.time() - 1
    terms: Set[str] = set()
    async with kiosk(tmp_path, private_bus, cupsd) as k:
        for number in range(SESSIONS):
            await one_session(k, number, terms)
        outcomes = [e for e in k.events if type(e).__name__ == "SessionEnded"]
    assert len(outcomes) == SESSIONS
    checks = [e for e in k.events if type(e).__name__ == "FaceChecked"]
    assert [e.result for e in checks] == ["matched"] * (SESSIONS // FACE_EVERY)
    assert len(cupsd.captured()) == SESSIONS // PRINT_EVERY
    roots = [tmp_path, cupsd.root, Path(tempfile.gettempdir())]
    department = tmp_path / "seal"  # the demo department's seal keys (its seals carry pictures)
    pytest_runs = tmp_path.parents[1]  # other pytest runs' directories: tests beside this one
    ours = [
        path
        for path in written_files(roots, started, cupsd.capture_dir)
        if department not in path.parents
        and (pytest_runs not in path.parents or tmp_path in path.parents)
    ]
    scanned = scan(ours, terms)
    assert scanned > 5  # the log, the database, cupsd's logs at least
    log = k.log.read_text(encoding="utf-8")
    assert "session" in log
    assert WITHHELD not in log  # nothing even tried to log personal data
