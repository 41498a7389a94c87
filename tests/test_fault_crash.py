"""Fault: the real ``govkioskd`` is SIGKILLed mid-query (the department holds its answer)
and mid-print (CUPS holds the job: the printer is out of paper), then started again;
and a power cut: the daemon and cupsd killed at once, then both started again.

After the restart: no session is running, an alarm (``session_interrupted``) names the
item, the step and what became of the A4 job, without personal data; a job CUPS had
accepted is cancelled and purged when unprinted, purged when printed, never submitted
again (nothing prints twice); the citizen's data is nowhere on disk — not in the state
directory, the logs, CUPS's spool or a temporary file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import stat
import time
from pathlib import Path
from typing import AsyncIterator, Iterable, List, Optional, Tuple

import cups
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govkiosk.bus import Alarm, EventBus
from govkiosk.devices.idcard.cardtext import ResidentIdentity
from govkiosk.printing.cups_printer import CupsPrinter
from govkiosk.session.interrupted import MARKER, Facts, Marker, recover
from govkiosk.store import DB_NAME, damage
from harness.cups import CupsServer
from harness.dbus import PrivateBus
from harness.eventually import eventually
from harness.kiosk import WAIT
from harness.kioskproc import KioskProcess, kiosk_process

ITEM = "id_card_print"
LARGEST_SCANNED = 64 * 1024 * 1024
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, bus: PrivateBus, cupsd: CupsServer
) -> AsyncIterator[KioskProcess]:
    async with kiosk_process(tmp_path / "kiosk", bus, cupsd) as k:
        await k.start()
        yield k


async def to_query(k: KioskProcess) -> Tuple[str, ResidentIdentity]:
    sid = await k.session.call_start_session(ITEM, "zh_CN")
    await k.until(step="identity", state="waiting")
    identity = k.card()
    await k.until(step="identity", choices=["confirm", "cancel"])
    await k.session.call_choose(sid, "confirm")
    await k.until(step="consent", state="waiting")
    await k.session.call_choose(sid, "agree")
    return sid, identity


async def to_paper_out(k: KioskProcess) -> ResidentIdentity:
    """A session whose A4 job CUPS accepted and holds: the printer is out of paper."""
    sid, identity = await to_query(k)
    await k.until(step="preview", state="waiting")
    k.cups.fail()
    await k.session.call_choose(sid, "print")
    await k.until(state="failed", error_code="printer.paper_out")
    return identity


async def marked(k: KioskProcess, step: str, job: bool = False) -> Facts:
    """Once the daemon's session marker says ``step`` (and names a CUPS job, if ``job``):
    the marker is written behind the session, off the loop; a kill before that finds
    the step before."""
    found: List[Facts] = []

    def says() -> bool:
        with contextlib.suppress(OSError):
            facts = Facts.parse((k.state_dir / MARKER).read_text(encoding="utf-8"))
            if facts is not None and facts.step == step and (facts.cups_job or not job):
                found.append(facts)
        return bool(found)

    await eventually(says, f"the session marker at {step}", WAIT)
    return found[0]


async def marker_job(k: KioskProcess) -> int:
    """The A4 job the session marker names (the daemon wrote it before the kill)."""
    job = (await marked(k, "print_a4", job=True)).cups_job
    assert job is not None
    return job


def needles(identity: ResidentIdentity) -> List[bytes]:
    found = [identity.name, identity.id_number, identity.address]
    return [n.encode("utf-8") for n in found if n] + [identity.photo[:64]]


def files_under(*roots: Path, since: float = 0.0) -> Iterable[Path]:
    """Regular files below ``roots`` changed since ``since`` (others' files may come and
    go meanwhile: what vanishes is skipped)."""
    for root in roots:
        for directory, _dirs, names in os.walk(root):
            for name in names:
                path = Path(directory, name)
                with contextlib.suppress(OSError):
                    info = path.lstat()
                    if (
                        stat.S_ISREG(info.st_mode)
                        and info.st_mtime >= since
                        and info.st_size < LARGEST_SCANNED
                    ):
                        yield path


def assert_no_personal_data(
    k: KioskProcess, identity: ResidentIdentity, since: float, tmp_path: Path
) -> None:
    """The state directory, every log, CUPS's spool and logs, and the files written to
    the system's temporary directory during the test hold nothing of the citizen."""
    temp = Path(os.environ.get("TMPDIR", "/tmp"))
    roots = [k.state_dir, k.daemon.directory, k.cups.root / "spool", k.cups.root / "log"]
    scanned = list(files_under(*roots))
    scanned += [
        p
        for p in files_under(temp, since=since)
        if tmp_path not in p.parents and k.cups.root not in p.parents
    ]
    assert scanned
    for path in scanned:
        try:
            data = path.read_bytes()
        except OSError:  # gone meanwhile (another program's temporary file)
            continue
        for needle in needles(identity):
            assert needle not in data, f"personal data in {path}"


def interrupted(k: KioskProcess) -> str:
    lines = [line for line in k.log().splitlines() if "was interrupted at step" in line]
    assert len(lines) == 1, k.log()
    return lines[0]


def unfinished_jobs(cupsd: CupsServer) -> object:
    return cupsd.connect().getJobs(which_jobs="not-completed")


async def test_sigkill_mid_query_reports_the_session_and_keeps_nothing(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    since = time.time()
    async with running(tmp_path, private_bus, cupsd) as k:
        k.department.misbehaviour.delay = 3600.0  # the department holds its answer
        _sid, identity = await to_query(k)
        await k.until(step="query", state="running")
        await marked(k, "query")
        await k.kill()
        k.department.misbehaviour.delay = 0.0

        await k.start()
        assert await k.state() == {}
        line = interrupted(k)
        assert f"a session of {ITEM}" in line
        assert "at step query" in line
        assert "no A4 document had been sent to the printer" in line
        assert not (k.state_dir / MARKER).exists()
        assert cupsd.captured() == []
        # The kiosk serves the next citizen.
        await to_query(k)
        await k.until(step="preview", state="waiting")
        await k.stop()
        assert damage(k.state_dir / DB_NAME) == ""
        assert_no_personal_data(k, identity, since, tmp_path)


async def test_sigkill_mid_print_cancels_the_unprinted_job_and_never_prints_it(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    since = time.time()
    async with running(tmp_path, private_bus, cupsd) as k:
        identity = await to_paper_out(k)
        job = await marker_job(k)
        await k.kill()

        await k.start()
        line = interrupted(k)
        assert "at step print_a4" in line
        assert f"A4 job {job} had not printed: cancelled and purged" in line
        assert unfinished_jobs(cupsd) == {}
        cupsd.repair()  # paper is loaded: the cancelled job stays unprinted
        assert job not in cupsd.connect().getJobs(which_jobs="all")  # purged, not just held
        assert cupsd.captured() == []
        await k.stop()
        assert list((cupsd.root / "spool").glob("d*")) == []
        assert_no_personal_data(k, identity, since, tmp_path)


def submitted_job(k: KioskProcess) -> int:
    """The CUPS job the daemon's log says was submitted; 0 before it says so."""
    for line in k.log().splitlines():
        found = re.search(r": job (\d+) submitted \(", line)
        if found:
            return int(found.group(1))
    return 0


async def test_sigkill_the_moment_cups_accepted_the_job_still_finds_it_in_the_marker(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    since = time.time()
    async with running(tmp_path, private_bus, cupsd) as k:
        sid, identity = await to_query(k)
        await k.until(step="preview", state="waiting")
        k.cups.fail()  # CUPS accepts the job and holds it: out of paper
        await k.session.call_choose(sid, "print")
        # The daemon logs the submission only once the marker naming the job is on disk:
        # killed right at that line, the marker has it (it used to be written afterwards).
        await eventually(lambda: submitted_job(k) > 0, "the job submitted", WAIT)
        await k.kill()
        job = submitted_job(k)
        facts = Facts.parse((k.state_dir / MARKER).read_text(encoding="utf-8"))
        assert facts is not None
        assert (facts.step, facts.cups_job) == ("print_a4", job)

        await k.start()
        line = interrupted(k)
        assert f"A4 job {job} had not printed: cancelled and purged" in line
        assert unfinished_jobs(cupsd) == {}
        cupsd.repair()
        assert cupsd.captured() == []  # never printed, and never submitted again
        await k.stop()
        assert_no_personal_data(k, identity, since, tmp_path)


async def test_a_job_printed_while_the_daemon_was_dead_is_purged_not_printed_again(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    since = time.time()
    async with running(tmp_path, private_bus, cupsd) as k:
        identity = await to_paper_out(k)
        job = await marker_job(k)
        await k.kill()
        cupsd.repair()  # the job prints while no daemon runs
        cupsd.wait_job(job, {cups.IPP_JOB_COMPLETED})
        assert len(cupsd.captured()) == 1

        await k.start()
        assert f"A4 job {job} had been printed (its file is purged)" in interrupted(k)
        await k.stop()
        assert len(cupsd.captured()) == 1  # not sent again
        assert list((cupsd.root / "spool").glob("d*")) == []
        # The document the backend captured is the printout itself (the paper in the
        # tray), not a file the kiosk keeps: take it out before the scan.
        for path in cupsd.capture_dir.glob("job-*"):
            path.unlink()
        assert_no_personal_data(k, identity, since, tmp_path)


async def test_power_cut_mid_print_every_process_killed_at_once(
    tmp_path: Path, private_bus: PrivateBus, cupsd: CupsServer
) -> None:
    """A power cut on loopback: govkioskd and cupsd SIGKILLed together (the department
    is remote and keeps its power; the simulated devices hold no state of the session),
    then cupsd and the daemon started again, as at boot."""
    since = time.time()
    async with running(tmp_path, private_bus, cupsd) as k:
        identity = await to_paper_out(k)
        job = await marker_job(k)
        assert k.daemon.proc is not None
        assert cupsd._proc is not None
        for proc in (k.daemon.proc.popen, cupsd._proc.popen):
            proc.send_signal(signal.SIGKILL)
        for proc in (k.daemon.proc.popen, cupsd._proc.popen):
            proc.wait()
        await k.kill()
        cupsd.stop()

        cupsd.start()  # boot: CUPS first, then the kiosk
        await k.start()
        line = interrupted(k)
        assert "at step print_a4" in line
        assert f"A4 job {job}" in line
        assert unfinished_jobs(cupsd) == {}
        assert cupsd.captured() == []
        assert not (k.state_dir / MARKER).exists()
        await k.stop()
        assert damage(k.state_dir / DB_NAME) == ""
        assert_no_personal_data(k, identity, since, tmp_path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.dictionaries(st.text(max_size=8), JSON, max_size=6)))
def test_any_marker_text_parses_or_is_refused(value: object) -> None:
    text = value if isinstance(value, str) else json.dumps(value)
    facts = Facts.parse(text)
    assert facts is None or isinstance(facts, Facts)


def test_a_marker_cut_short_by_the_power_cut_still_reports_an_interruption(
    tmp_path: Path,
) -> None:
    (tmp_path / MARKER).write_text('{"session": "ab12', encoding="utf-8")
    facts = Marker(tmp_path).read()
    assert facts is not None
    assert facts.item == "?"


def submit(cupsd: CupsServer, title: str) -> int:
    connection = cupsd.connect()
    job = int(connection.createJob(cupsd.queue, title, {}))
    connection.startDocument(cupsd.queue, job, title, "application/pdf", 1)
    connection.writeRequestData(b"%PDF-1.4 not a citizen's document", 33)
    connection.finishDocument(cupsd.queue)
    return job


async def recovered(
    directory: Path, cupsd: CupsServer, facts: Facts
) -> Tuple[Optional[Facts], List[Alarm]]:
    """A daemon's start after ``facts`` were left in the marker: what recovery found, and
    the alarms it raised."""
    marker = Marker(directory)
    marker.write(facts)
    await marker.settled()
    bus = EventBus()
    alarms: List[Alarm] = []
    bus.subscribe(Alarm, alarms.append)
    printer = CupsPrinter(bus, cupsd.queue, str(cupsd.socket))
    try:
        return await recover(marker, printer, bus), alarms
    finally:
        printer.close()


async def test_a_job_accepted_just_before_the_stop_is_settled_though_unrecorded(
    tmp_path: Path, cupsd: CupsServer
) -> None:
    # The one moment the marker cannot name the job: CUPS accepted it, its id was not on
    # disk yet. The queue is the daemon's alone: what it still holds is that session's.
    cupsd.fail()  # out of paper: the job waits in the queue
    job = submit(cupsd, "no_criminal_record-abcd1234")
    cupsd.wait_job(job, {cups.IPP_JOB_STOPPED, cups.IPP_JOB_PENDING, cups.IPP_JOB_HELD})
    left = Facts("abcd1234", "no_criminal_record", time.time(), "print_a4")
    facts, alarms = await recovered(tmp_path, cupsd, left)
    assert facts is not None
    assert facts.cups_job is None
    [alarm] = [a for a in alarms if a.code == "session_interrupted"]
    assert f"A4 job {job} had not printed: cancelled and purged" in alarm.message
    assert "left on the queue unrecorded" in alarm.message
    assert job not in cupsd.connect().getJobs(which_jobs="all")  # cancelled and purged
    assert not (tmp_path / MARKER).exists()
    cupsd.repair()
    assert cupsd.captured() == []  # never printed


async def test_a_marker_without_a_job_and_an_empty_queue_says_nothing_was_sent(
    tmp_path: Path, cupsd: CupsServer
) -> None:
    left = Facts("abcd1234", "no_criminal_record", time.time(), "query")
    _facts, alarms = await recovered(tmp_path, cupsd, left)
    assert "no A4 document had been sent to the printer" in alarms[0].message
