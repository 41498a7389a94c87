"""Many citizen sessions through the whole kiosk, with the daemon as a real process.

:func:`soak` starts, on loopback and in private directories: a private ``dbus-daemon``,
``cupsd`` with a capture queue (the A4 printer), an ops site (``mosquitto`` with TLS and
the shipped ACL; the kiosk's ``[ops]`` points at it), the demo department service, the
simulated ID card reader, receipt printer, presence radar and UPS (TCP, as
``[[devices.static]]``, served from this process so the soak can place cards, take the
citizen away and run the receipt printer out of paper), the camera simulator as a child
(``govkioskctl sim camera``, as the demo starts it), and ``govkioskd`` itself. The UI's
part is played over D-Bus (``cn.govkiosk.Session1``), as in tests/test_session_*.py.

A seeded mix of sessions (:data:`MIX`) is run one after another: every published item
printed to the end, cancels at each step, timeouts, walk-aways and a receipt printer
that runs out of paper and is refilled. The waits that citizens leave to expire are
short in the soak's configuration (:data:`TIMEOUTS`), so they cost little wall time.

After ``warmup`` sessions and then every ``every`` sessions a :class:`Sample` of the
daemon is taken (RSS, fds, threads, children, SQLite size, log volume, ops outbox depth,
outcomes); :func:`growth` says which figures grew beyond their tolerance
(:data:`TOLERANCES`). At the end the state directory, the logs and the temp directory
are searched for every simulated citizen's personal data (harness.personal).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Set, Tuple

from dbus_next.aio import MessageBus
from dbus_next.errors import DBusError

from govkiosk.contract.connection import close, connect
from govkiosk.contract.names import (
    BUS_NAME,
    IDCARD_INTERFACE,
    KIOSK_INTERFACE,
    OBJECT_PATH,
    OPS_INTERFACE,
    RECEIPT_INTERFACE,
    SESSION_INTERFACE,
)
from govkiosk.devices.camera.worker import PROCESS_NAME as CAPTURE_WORKER
from govkiosk.devices.idcard import synthetic
from govkiosk.devices.idcard.sim import SimulatedReader, SimulatedReaderProtocol
from govkiosk.devices.presence.sim import Ld2410Simulator, PresenceSimulator
from govkiosk.devices.receipt.sim import SimConnection, SimPrinter
from govkiosk.devices.simhost import serve_tcp
from govkiosk.devices.ups.sim import MegatecSimulator, UpsModel
from govkiosk.items.catalogue import default_catalogue
from govkiosk.store import DB_NAME

from .camera import OBAMA
from .cups import CupsServer
from .dbus import PrivateBus
from .departments import KEY_ID, KioskKey, platform
from .kiosk import SIMULATED_FACES, TEST_IDENTITY, card_photo
from .opssite import Site
from .personal import scan, written_files
from .process import Proc, free_port, port_open, unhandled_reports
from .sessionwatch import SessionWatch

#: How long one wait for a session state may take (a busy 2-core machine).
WAIT = 30.0
#: How long the whole kiosk may take to come up (the face model loads after READY).
START_WAIT = 90.0
BIN = Path(sys.executable).parent

#: The waits a soak lets expire: short, so a timeout costs little wall time, yet long
#: enough that the driver (over D-Bus, on a busy machine) always answers in time when it
#: means to. The preview's limit is also the limit of rendering it (session/steps.py),
#: which takes seconds on a busy machine; a failure screen is never left to expire.
TIMEOUTS = {
    "identity_timeout": 2.0,
    "consent_timeout": 2.0,
    "preview_timeout": 4.0,
    "answer_timeout": 5.0,
    "done_timeout": 2.0,
    "walkaway_timeout": 0.2,
}

#: (scenario, weight). ``print`` runs an item without a face check to the end and
#: ``print_face`` one with (each kind in turn, so every published item is printed); the
#: others leave or fail at one step. The face check watches the camera for a few seconds
#: (liveness) and is the slowest step by far, so it has the smaller share.
MIX: Tuple[Tuple[str, int], ...] = (
    ("print", 36),
    ("print_face", 6),
    ("cancel_identity", 5),
    ("cancel_confirm", 5),
    ("cancel_face", 2),
    ("disagree", 5),
    ("cancel_consent", 4),
    ("cancel_preview", 8),
    ("timeout_identity", 3),
    ("timeout_consent", 2),
    ("timeout_preview", 2),
    ("timeout_done", 2),
    ("walkaway", 5),
    ("paper_out", 5),
)

CONFIG = """[kiosk]
id = "{kiosk_id}"
name = "测试政务服务中心 浸泡机"
region = "230100"

[daemon]
restart_initial = 0.1
restart_max = 0.5

[devices.usb]
seal = false  # tests run as root: never touch the machine's own USB

[idcard]
poll_interval = 0.05
sam_check_interval = 5.0

[receipt]
status_timeout = 0.5
job_timeout = 5.0
poll_interval = 0.05
idle_poll_interval = 0.5

[presence]
arrive_after = 0.0
leave_after = 0.0

[backends]
key_file = "{key}"
key_id = "{key_id}"
default_url = "{url}"
retry_backoff = 0.01
{identity}

[seal]
trusted = ["{ca}"]

[session]
cups_server = "{cups}"
cups_queue = "{queue}"
print_poll_interval = 0.05
{timeouts}

[face]
{face}

[[devices.static]]
role = "idcard"
port = "socket://127.0.0.1:{idcard_port}"

[[devices.static]]
role = "receipt_printer"
port = "socket://127.0.0.1:{receipt_port}"

[[devices.static]]
role = "presence"
port = "socket://127.0.0.1:{presence_port}"

[[devices.static]]
role = "ups"
port = "socket://127.0.0.1:{ups_port}"

[[devices.static]]
role = "face_camera_rgb"
port = "http://127.0.0.1:{camera_port}/rgb"

[[devices.static]]
role = "face_camera_ir"
port = "http://127.0.0.1:{camera_port}/ir"

[[devices.static]]
role = "doc_camera"
port = "http://127.0.0.1:{camera_port}/doc"

"""
KIOSK_ID = "test-hlj-0001"


@dataclass
class Sample:
    """The daemon's figures after ``sessions`` sessions."""

    sessions: int
    seconds: float  #: since the soak's first session
    rss_kb: int  #: govkioskd's resident set
    tree_rss_kb: int  #: govkioskd and its children (the face worker), capture workers aside
    children: int  #: capture workers aside
    #: Cameras' capture workers alive (``govkiosk-camera``): each exits when its camera has
    #: been idle for ``[camera] worker_idle_exit`` and starts again when needed, so they come
    #: and go; each holds one pipe and one reader thread in the daemon, which ``fds`` and
    #: ``threads`` leave out.
    capture_workers: int
    fds: int
    threads: int
    sqlite_bytes: int  #: the database's pages (page_count x page_size, the WAL's included)
    db_file_bytes: int  #: the database file (grows when the WAL is checkpointed into it)
    wal_bytes: int
    log_bytes: int  #: everything govkioskd wrote to stdout/stderr (its log)
    outbox: int  #: ops messages waiting to go out
    ui_rss_kb: int  #: govkiosk-ui's resident set (0: run without the UI)
    restarts: int  #: the daemon's services restarted by its supervisor (a crash each)
    ops_link: str  #: the link to the site broker (``connected``)
    outcomes: Dict[str, int]  #: the driver's tally: how each session ended

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Tolerance:
    """Growth allowed from the warm-up sample: ``fixed`` plus ``per_session`` for each
    session run since."""

    fixed: float
    per_session: float
    why: str


#: Why each bound is what it is. Counts of kernel objects (fds, threads, children) must
#: come back to where they were between sessions: a few are allowed for what may be open
#: at the moment of sampling (a keep-alive HTTP connection to the department, a CUPS
#: request, an executor thread started on demand). Memory and files grow by design a
#: little: they are bounded per session, so a leak of one document, image or row per
#: session (tens of kB) fails even the short soak.
TOLERANCES: Dict[str, Tolerance] = {
    "rss_kb": Tolerance(
        24 * 1024,
        1.0,
        "glibc's arenas give memory back and take it again: RSS swings by up to 20 MB"
        " between samples with no trend (measured: 123-143 MB over 100 sessions); a leak"
        " of a few kB per session shows over thousands of sessions",
    ),
    "tree_rss_kb": Tolerance(32 * 1024, 2.0, "as rss_kb, with the face worker's own heap"),
    "children": Tolerance(0, 0.0, "the face worker only: no process may be left behind"),
    "capture_workers": Tolerance(3, 0.0, "one per camera at most (three cameras)"),
    "fds": Tolerance(4, 0.0, "sockets open at the moment of sampling; a leak grows per session"),
    "threads": Tolerance(3, 0.0, "executor threads are started on demand up to their maximum"),
    "sqlite_bytes": Tolerance(
        256 * 1024,
        1024.0,
        "a usage row (item, outcome, day: no personal data) and an audit entry per session"
        " by design; a new page now and then",
    ),
    "wal_bytes": Tolerance(
        8 * 1024 * 1024,
        0.0,
        "the WAL is reused after each automatic checkpoint (1000 pages): bounded, not per session",
    ),
    "log_bytes": Tolerance(
        64 * 1024,
        2048.0,
        "a few INFO lines per session by design (started, ended, printed)",
    ),
    "outbox": Tolerance(20, 0.0, "with the broker up, messages leave as they are made"),
    "restarts": Tolerance(0, 0.0, "a service restarted by the supervisor has crashed"),
    "ui_rss_kb": Tolerance(
        32 * 1024, 2.0, "as rss_kb; Kivy also keeps textures of the screens it has drawn"
    ),
}


def growth(base: Sample, now: Sample) -> List[str]:
    """The figures of ``now`` beyond ``base`` plus their tolerance, each with the numbers."""
    found = []
    sessions = now.sessions - base.sessions
    for name, tolerance in TOLERANCES.items():
        before, after = getattr(base, name), getattr(now, name)
        allowed = tolerance.fixed + tolerance.per_session * sessions
        if after - before > allowed:
            found.append(
                f"{name}: {before} -> {after} over {sessions} sessions"
                f" (allowed +{allowed:g}: {tolerance.why})"
            )
    return found


@dataclass
class Stack(SessionWatch):
    """The running kiosk and the handles the driver needs."""

    wait = WAIT
    directory: Path
    daemon: Proc
    state_dir: Path
    session: Any  #: cn.govkiosk.Session1
    idcard: Any  #: cn.govkiosk.IdCard1
    receipt: Any  #: cn.govkiosk.Receipt1
    kiosk: Any  #: cn.govkiosk.Kiosk1
    ops: Any  #: cn.govkiosk.Ops1
    reader: SimulatedReader
    printer: SimPrinter
    presence: List[PresenceSimulator]
    cups: CupsServer
    changes: asyncio.Queue[Dict[str, Any]]
    ui: Optional[Proc] = None  #: govkiosk-ui on a private Xvfb, with ``ui=True``
    items: List[str] = field(default_factory=list)
    face_items: List[str] = field(default_factory=list)
    receipt_items: List[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return int(self.daemon.popen.pid)

    @property
    def log(self) -> Path:
        return self.daemon.log

    async def ended(self) -> str:
        """The state the session ended in (its last SessionChanged), once GetSession says
        there is none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        last: Dict[str, Any] = {}
        while loop.time() < deadline:
            while not self.changes.empty():
                last = self.changes.get_nowait() or last
            if await self.state() == {}:
                while not self.changes.empty():  # signals arrive before the reply
                    last = self.changes.get_nowait() or last
                return str(last.get("state", "gone"))
            with contextlib.suppress(asyncio.TimeoutError):
                last = await asyncio.wait_for(self.changes.get(), 0.05) or last
        raise AssertionError(f"the session did not end; last state {last}")

    async def receipt_ready(self) -> bool:
        return any(row[1] == "ready" for row in await self.receipt.call_get_printers())

    async def take_card(self) -> None:
        """Take the card off the reader and wait until the daemon has seen it go (the
        driver reads each presentation once)."""
        if self.reader.card is None:
            return
        self.reader.remove()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while any(row[3] for row in await self.idcard.call_get_readers()):
            if loop.time() > deadline:
                raise AssertionError("the reader never saw the card go")
            await asyncio.sleep(0.02)


def _files(state_dir: Path) -> Tuple[int, int]:
    db = state_dir / DB_NAME
    wal = state_dir / (DB_NAME + "-wal")
    size = db.stat().st_size if db.exists() else 0
    return size, wal.stat().st_size if wal.exists() else 0


def _database(state_dir: Path) -> Tuple[int, int]:
    """(the database's size in pages x page size, the ops outbox's depth), read as a
    reader of the WAL sees them: independent of when the daemon checkpoints."""
    uri = f"file:{state_dir / DB_NAME}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as conn:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        size = pages * int(conn.execute("PRAGMA page_size").fetchone()[0])
        try:
            outbox = int(conn.execute("SELECT COUNT(*) FROM ops_outbox").fetchone()[0])
        except sqlite3.OperationalError:  # no ops tables yet
            outbox = 0
    return size, outbox


def _status(pid: int) -> Dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def _children(pid: int) -> List[int]:
    found: List[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    for child in list(found):
        with contextlib.suppress(OSError):
            found += _children(child)
    return found


def _is_capture_worker(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == CAPTURE_WORKER
    except OSError:
        return False


def _rss_kb(pid: int) -> int:
    return int(_status(pid).get("VmRSS", "0 kB").split()[0])


async def sample(stack: Stack, sessions: int, started: float, outcomes: Counter) -> Sample:
    services = await stack.kiosk.call_get_services()
    pid = stack.pid
    status = _status(pid)
    every = _children(pid)
    capture = [c for c in every if _is_capture_worker(c)]
    children = [c for c in every if c not in capture]
    db_file_bytes, wal_bytes = _files(stack.state_dir)
    sqlite_bytes, outbox = _database(stack.state_dir)
    return Sample(
        sessions=sessions,
        seconds=round(time.monotonic() - started, 1),
        rss_kb=int(status["VmRSS"].split()[0]),
        tree_rss_kb=int(status["VmRSS"].split()[0]) + sum(_rss_kb(c) for c in children),
        children=len(children),
        capture_workers=len(capture),
        fds=len(os.listdir(f"/proc/{pid}/fd")) - len(capture),
        threads=int(status["Threads"]) - len(capture),
        sqlite_bytes=sqlite_bytes,
        db_file_bytes=db_file_bytes,
        wal_bytes=wal_bytes,
        log_bytes=stack.log.stat().st_size,
        outbox=outbox,
        ui_rss_kb=_rss_kb(stack.ui.popen.pid) if stack.ui is not None else 0,
        restarts=sum(int(row[3]) for row in services),
        ops_link=str(await stack.ops.get_link()),
        outcomes=dict(sorted(outcomes.items())),
    )


# --- the citizens ------------------------------------------------------------------


class Citizens:
    """Synthetic residents, each remembered so the final scan can search for them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.terms: Set[str] = set()
        self.photo = card_photo(OBAMA)

    def next(self, born: Tuple[int, int] = (0, 2100)) -> Any:
        """A resident born in ``born`` (first year, year after the last)."""
        identity = synthetic.resident(self.rng)
        while not born[0] <= identity.birth_date.year < born[1]:
            identity = synthetic.resident(self.rng)
        self.terms.update({identity.name, identity.id_number, identity.address})
        return dataclasses.replace(identity, photo=self.photo)


#: The demo department issues a pension proof only to someone past retirement age, and
#: social-insurance records only to someone who has worked since they began (1993).
BORN = {
    "pension_benefit_proof": (1936, 1960),
    "contribution_record_print": (1945, 2000),
    "pension_insurance_certificate": (1945, 2000),
    "social_insurance_statement": (1945, 2000),
}


#: Where a scenario leaves the journey: (where, what the citizen does there). ``print``,
#: ``print_face`` and ``paper_out`` go to the end and press "finish".
LEAVES: Dict[str, Tuple[str, str]] = {
    "cancel_identity": ("identity", "cancel"),
    "timeout_identity": ("identity", "wait"),
    "cancel_confirm": ("confirm", "choose cancel"),
    "cancel_face": ("face", "cancel"),
    "disagree": ("consent", "choose disagree"),
    "cancel_consent": ("consent", "cancel"),
    "timeout_consent": ("consent", "wait"),
    "cancel_preview": ("preview", "cancel"),
    "timeout_preview": ("preview", "wait"),
    "walkaway": ("preview", "walk away"),
    "timeout_done": ("done", "wait"),
}


async def leave(s: Stack, sid: str, action: str) -> str:
    """The citizen cancels, chooses, lets the step time out or walks away; how the
    session ended."""
    if action == "cancel":
        await s.session.call_cancel(sid)
    elif action.startswith("choose "):
        await s.session.call_choose(sid, action.split()[1])
    elif action == "walk away":
        for radar in s.presence:
            radar.leave()
        try:
            return await s.ended()
        finally:
            for radar in s.presence:
                radar.arrive()
    return await s.ended()


async def print_document(s: Stack, sid: str, paper_out: bool) -> None:
    """ "Print", to the done screen; with ``paper_out`` the receipt printer's roll is
    empty: the slip fails, staff refill it, the citizen retries."""
    if paper_out:
        s.printer.run_out_of_paper()
    await s.session.call_choose(sid, "print")
    if paper_out:
        state = await s.until(state="failed")
        assert state["step"] == "print_receipt", state
        assert "retry" in state["choices"], state
        s.printer.load_paper()  # staff refill the roll; the citizen retries once it is ready
        await _wait(s.receipt_ready, "the receipt printer ready after the refill", WAIT)
        await s.session.call_choose(sid, "retry")
    await s.until(step="done", state="done")


async def run_session(s: Stack, scenario: str, item: str, citizens: Citizens) -> str:
    """One citizen's session; how it ended (the session's last state)."""
    where, action = LEAVES.get(scenario, ("", ""))
    sid = await s.session.call_start_session(item, "zh_CN")
    await s.until(step="identity", state="waiting")
    if where == "identity":
        return await leave(s, sid, action)
    s.reader.place(citizens.next(BORN.get(item, (0, 2100))))
    await s.until(step="identity", choices=["confirm", "cancel"])
    await s.take_card()  # the citizen takes the card back at once
    if where == "confirm":
        return await leave(s, sid, action)
    await s.session.call_choose(sid, "confirm")
    if where == "face":
        await s.until(step="face_verify")
        return await leave(s, sid, action)
    await s.until(step="consent", state="waiting")
    if where == "consent":
        return await leave(s, sid, action)
    await s.session.call_choose(sid, "agree")
    await s.until(step="preview", state="waiting")
    await s.session.call_get_preview(sid, 0)
    if where == "preview":
        return await leave(s, sid, action)
    await print_document(s, sid, scenario == "paper_out")
    if where == "done":
        return await leave(s, sid, action)
    await s.session.call_choose(sid, "finish")
    return await s.ended()


def tour(stack: Stack) -> List[Tuple[str, str]]:
    """The first sessions: every item printed, then every other scenario once, so the
    warm-up has been down every path whatever the seed."""
    plain = [i for i in stack.items if i not in stack.face_items]
    sessions = [("print", i) for i in plain] + [("print_face", i) for i in stack.face_items]
    for scenario, _weight in MIX:
        if scenario not in ("print", "print_face"):
            sessions.append(plan(random.Random(scenario), 0, stack, scenario))
    return sessions


def plan(rng: random.Random, number: int, stack: Stack, scenario: str = "") -> Tuple[str, str]:
    """The ``number``-th session's scenario (drawn from :data:`MIX` unless given) and item."""
    scenarios, weights = zip(*MIX)
    scenario = scenario or rng.choices(scenarios, weights)[0]
    plain = [i for i in stack.items if i not in stack.face_items]
    if scenario == "print":
        return scenario, plain[number % len(plain)]
    if scenario == "print_face":
        return scenario, stack.face_items[number % len(stack.face_items)]
    if scenario == "cancel_face":
        return scenario, rng.choice(stack.face_items)
    if scenario == "paper_out":  # mostly without a face check (the quicker sessions)
        receipt = [i for i in stack.receipt_items if i in plain] or stack.receipt_items
        return scenario, rng.choice(receipt if rng.random() < 0.8 else stack.receipt_items)
    return scenario, rng.choice(plain if rng.random() < 0.85 else stack.items)


# --- the stack ---------------------------------------------------------------------


async def _wait(condition: Callable[[], Any], what: str, timeout: float = START_WAIT) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with contextlib.suppress(DBusError):
            found = await condition()
            if found:
                return found
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def stack(directory: Path, ui: bool = False) -> AsyncIterator[Stack]:
    """The whole kiosk, ``govkioskd`` a child process; everything under ``directory``
    (and cupsd's private tree, removed afterwards). With ``ui``, ``govkiosk-ui`` follows
    the sessions on a private Xvfb screen, as on a kiosk (the driver still plays the
    citizen over D-Bus)."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - setup, before the loop's work
    with contextlib.ExitStack() as stop:
        bus = PrivateBus(directory / "dbus")
        stop.callback(bus.stop)
        cups = CupsServer()
        stop.callback(cups.remove)
        cups.start()
        site = Site.create(directory / "site")
        stop.callback(site.stop)
        key = KioskKey(directory)
        department = await platform(directory / "seal", key)
        reader, printer, ups = SimulatedReader(), SimPrinter(), UpsModel()
        radars: List[PresenceSimulator] = []

        def radar() -> PresenceSimulator:
            sim = Ld2410Simulator()
            sim.distance_cm = 80  # somebody stands at the kiosk
            radars.append(sim)
            return sim

        servers = [
            await serve_tcp(lambda: SimulatedReaderProtocol(reader)),
            await serve_tcp(lambda: SimConnection(printer)),
            await serve_tcp(radar),
            await serve_tcp(lambda: MegatecSimulator(ups)),
        ]
        camera_port = free_port()
        camera = Proc(
            [
                *(str(BIN / "govkioskctl"), "sim", "camera", "--port", str(camera_port)),
                *("--scenario", "live", "--face", str(OBAMA)),
            ],
            directory / "camera.log",
        )
        stop.callback(camera.stop)
        camera.wait_ready(lambda: port_open(camera_port), START_WAIT, "camera simulator")
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        config = directory / "govkiosk.toml"
        config.write_text(
            CONFIG.format(
                kiosk_id=KIOSK_ID,
                key=key.private_path,
                key_id=KEY_ID,
                url=department.url,
                identity=TEST_IDENTITY,
                ca=directory / "seal" / "ca.pem",
                cups=cups.socket,
                queue=cups.queue,
                timeouts="\n".join(f"{k} = {v}" for k, v in TIMEOUTS.items()),
                face=SIMULATED_FACES,
                idcard_port=ports[0],
                receipt_port=ports[1],
                presence_port=ports[2],
                ups_port=ports[3],
                camera_port=camera_port,
            )
            + site.ops_section(KIOSK_ID),
            encoding="utf-8",
        )
        state_dir = directory / "state"
        tmp = directory / "tmp"  # the daemon's (and its children's) temp files, to scan
        tmp.mkdir(exist_ok=True)
        daemon = Proc(
            [
                *(str(BIN / "govkioskd"), "--config", str(config)),
                *("--state-dir", str(state_dir), "--bus", bus.address),
            ],
            directory / "govkioskd.log",
            env=dict(os.environ, TMPDIR=str(tmp)),
        )
        stop.callback(daemon.stop)
        client: MessageBus = await connect(bus.address)
        try:
            introspection = await _wait(
                lambda: client.introspect(BUS_NAME, OBJECT_PATH), "govkioskd on the bus"
            )
            proxy = client.get_proxy_object(BUS_NAME, OBJECT_PATH, introspection)
            session = proxy.get_interface(SESSION_INTERFACE)
            changes: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
            session.on_session_changed(
                lambda state: changes.put_nowait({k: v.value for k, v in state.items()})
            )
            s = Stack(
                directory,
                daemon,
                state_dir,
                session,
                proxy.get_interface(IDCARD_INTERFACE),
                proxy.get_interface(RECEIPT_INTERFACE),
                proxy.get_interface(KIOSK_INTERFACE),
                proxy.get_interface(OPS_INTERFACE),
                reader,
                printer,
                radars,
                cups,
                changes,
            )
            await _ready(s)
            if ui:
                s.ui = _start_ui(directory, bus.address, stop)
            yield s
        finally:
            await close(client)
            daemon.stop(timeout=15.0)
            for server in servers:
                server.close()
            await department.close()


def _start_ui(directory: Path, address: str, stop: contextlib.ExitStack) -> Proc:
    """Xvfb (its display chosen by the server: ``-displayfd``) and ``govkiosk-ui`` on it."""
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop.callback(xvfb.wait)
    stop.callback(xvfb.terminate)
    os.close(write_end)
    with os.fdopen(read_end) as displayfd:
        display = displayfd.readline().strip()
    assert display, "Xvfb did not start"
    ui = Proc(
        [str(BIN / "govkiosk-ui"), "--bus", address],
        directory / "govkiosk-ui.log",
        # Kivy's own files (its log, its config) under the directory the final scan reads.
        env=dict(os.environ, DISPLAY=f":{display}", KIVY_HOME=str(directory / "kivy")),
    )
    stop.callback(ui.stop)
    return ui


async def _ready(s: Stack) -> None:
    """Every item available (cameras up, face model loaded), the receipt printer ready,
    the ops link up."""

    async def items() -> bool:
        rows = await s.session.call_list_items()
        return bool(rows) and all(row["available"].value for row in rows)

    await _wait(items, "every item available")

    await _wait(s.receipt_ready, "the receipt printer ready")

    async def ops_connected() -> bool:
        return bool(await s.ops.get_link() == "connected")

    await _wait(ops_connected, "the ops link to the site broker")
    catalogue = default_catalogue()
    s.items = [row["code"].value for row in await s.session.call_list_items()]
    for code in s.items:
        item = catalogue.get(code)
        if item is None:
            continue
        if "face_verify" in item.steps:
            s.face_items.append(code)
        if item.printing.receipt:
            s.receipt_items.append(code)


# --- the soak ----------------------------------------------------------------------


@dataclass
class Report:
    sessions: int
    seconds: float
    samples: List[Sample]
    growth: List[str]
    scanned: int  #: files searched for personal data at the end
    daemon_sessions: int  #: sessions the daemon's own statistics counted
    #: The daemon's statistics: item → outcome → sessions.
    by_item: Dict[str, Dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "sessions": self.sessions,
            "seconds": round(self.seconds, 1),
            "sessions_per_s": round(self.sessions / self.seconds, 2) if self.seconds else 0,
            "daemon_sessions": self.daemon_sessions,
            "by_item": self.by_item,
            "files_scanned": self.scanned,
            "growth": self.growth,
            "samples": [s.as_dict() for s in self.samples],
        }


async def soak(
    directory: Path,
    sessions: int,
    *,
    warmup: int = 200,
    every: int = 500,
    seed: int = 17,
    ui: bool = False,
    on_sample: Callable[[Sample], None] = lambda _s: None,
) -> Report:
    """Run ``sessions`` sessions; figures after ``warmup`` and every ``every`` sessions
    (and at the end). Raises AssertionError if personal data is left anywhere."""
    rng = random.Random(seed)
    citizens = Citizens(random.Random(seed + 1))
    outcomes: Counter = Counter()
    samples: List[Sample] = []
    since = time.time() - 1
    async with stack(directory, ui) as s:
        started = time.monotonic()
        first = tour(s)
        for number in range(1, sessions + 1):
            scenario, item = first[number - 1] if number <= len(first) else plan(rng, number, s)
            try:
                outcome = await run_session(s, scenario, item, citizens)
            except Exception as err:
                raise AssertionError(
                    f"session {number} ({scenario}, {item}) failed: {err}\n"
                    f"--- govkioskd's log (end) ---\n{s.daemon.output()[-3000:]}"
                ) from err
            outcomes[f"{scenario}:{outcome}"] += 1
            after_warmup = number > warmup and number % every == 0
            if number == min(warmup, sessions) or after_warmup or number == sessions:
                figures = await sample(s, number, started, outcomes)
                samples.append(figures)
                on_sample(figures)
            if number % 200 == 0:
                for path in s.cups.capture_dir.glob("job-*"):
                    path.unlink()  # the printed paper: taken away by the citizens
        seconds = time.monotonic() - started
        stats = await s.kiosk.call_statistics(0)
        by_item = {str(row[0]): {k: int(v) for k, v in row[1].items()} for row in stats[2]}
        daemon_sessions = sum(sum(counts.values()) for counts in by_item.values())
        assert s.daemon.stop(timeout=15.0) == 0, s.daemon.output()[-4000:]
        assert unhandled_reports(s.daemon.output()) == [], "govkioskd: unhandled errors"
        # What the run wrote: the state directory, the logs, the daemon's temp directory,
        # cupsd's spool, cache and logs (not the printed paper: the citizens took it).
        # Not the demo department's seal files: its SM2 seals carry their pictures (PNG).
        roots, seals = [directory, s.cups.root], directory / "seal"
        written = written_files(roots, since, s.cups.capture_dir)
        scanned = scan((p for p in written if seals not in p.parents), citizens.terms)
    base = next((x for x in samples if x.sessions >= min(warmup, sessions)), samples[0])
    found = growth(base, samples[-1]) if samples[-1] is not base else []
    return Report(sessions, seconds, samples, found, scanned, daemon_sessions, by_item)
