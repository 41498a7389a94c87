"""Fault: the state database is damaged — truncated, pages overwritten with random bytes,
or an empty file. The real ``govkioskd`` still reaches READY on it (no restart loop):
the file is moved aside under the time it was found, the latest backup's database is
put in its place when there is a backup and its key (usage and the item history come
back), else a new one is built; an alarm says which. A database that breaks under the
running daemon is detected on the failing statement."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import pytest

from govkiosk.app import Daemon
from govkiosk.backup.snapshot import backups
from govkiosk.bus import Alarm
from govkiosk.cli.main import main
from govkiosk.config import load_config
from govkiosk.store import DAMAGED, DB_NAME, Store, damage
from harness.dbus import PrivateBus
from harness.govkioskd import Govkioskd
from test_daemon_process import NotifySocket

READY = 10.0


def truncate(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2 + 100)


def scribble(path: Path) -> None:
    """Random bytes over every page but the first (the header stays: SQLite opens it)."""
    rng = random.Random(17)
    size = path.stat().st_size
    with path.open("r+b") as file:
        for offset in range(4096, size, 4096):
            file.seek(offset + 16)
            file.write(bytes(rng.randrange(256) for _ in range(512)))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def header(path: Path) -> None:
    with path.open("r+b") as file:
        file.write(os.urandom(100))


CORRUPTIONS: List[Tuple[str, Callable[[Path], None]]] = [
    ("truncated", truncate),
    ("random-pages", scribble),
    ("empty", empty),
    ("random-header", header),
]


def ctl(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def history(capsys: pytest.CaptureFixture[str], bus: str) -> object:
    status, out, err = ctl(capsys, "--bus", bus, "--json", "items", "history", "marriage_record")
    assert status == 0, err
    return json.loads(out)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.sock.close()


@pytest.fixture
def daemons() -> Iterator[List[Govkioskd]]:
    """Every daemon a test makes is stopped, however the test ends."""
    made: List[Govkioskd] = []
    yield made
    for daemon in made:
        daemon.stop()


def start(daemon: Govkioskd, notify: NotifySocket) -> None:
    daemon.start(dict(os.environ, NOTIFY_SOCKET=str(notify.path)))
    notify.wait_for("READY=1", timeout=READY)
    assert daemon.proc is not None
    assert daemon.proc.alive()


def kiosk_with_history(
    tmp_path: Path,
    bus: str,
    capsys: pytest.CaptureFixture[str],
    *,
    notify: NotifySocket,
    extra: str,
    daemons: List[Govkioskd],
) -> Govkioskd:
    daemon = Govkioskd(tmp_path / "kiosk", bus, extra)
    daemons.append(daemon)
    start(daemon, notify)
    status, out, err = ctl(
        capsys, "--bus", bus, "items", "apply", "marriage_record", "--role", "department",
        "--kind", "add", "--name", "婚姻登记记录证明", "--reason", "办件量大",
        "--plan", "对接民政接口", "--function", "查询打印婚姻登记记录",
    )  # fmt: skip
    assert (status, err) == (0, ""), out
    return daemon


@pytest.mark.parametrize(("name", "corrupt"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_a_damaged_database_without_a_backup_is_rebuilt_and_the_daemon_is_ready(
    tmp_path: Path,
    private_bus: PrivateBus,
    capsys: pytest.CaptureFixture[str],
    *,
    notify: NotifySocket,
    daemons: List[Govkioskd],
    name: str,
    corrupt: Callable[[Path], None],
) -> None:
    bus = private_bus.address
    daemon = kiosk_with_history(tmp_path, bus, capsys, notify=notify, extra="", daemons=daemons)
    daemon.stop()
    database = daemon.directory / "state" / DB_NAME
    corrupt(database)
    assert damage(database), f"{name}: the damage is not seen"

    start(daemon, notify)  # READY on the damaged file: no restart loop
    state = daemon.directory / "state"
    aside = sorted(state.glob(DB_NAME + DAMAGED + "*"))
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))], "not moved aside"
    assert damage(database) == ""
    status, _, err = ctl(capsys, "--bus", bus, "items", "history", "marriage_record")
    assert (status, err.strip()) == (1, "govkioskctl: no item marriage_record (no history)")
    daemon.stop()
    out = (daemon.directory / "govkioskd-2.log").read_text(encoding="utf-8")
    assert "the state database was damaged" in out
    assert "no usable backup: rebuilt empty" in out
    assert "Traceback" not in out.partition(" ready: ")[0]  # the start went cleanly


@pytest.mark.parametrize(("name", "corrupt"), CORRUPTIONS[:2], ids=[c[0] for c in CORRUPTIONS[:2]])
def test_a_damaged_database_is_restored_from_the_latest_backup(
    tmp_path: Path,
    private_bus: PrivateBus,
    capsys: pytest.CaptureFixture[str],
    *,
    notify: NotifySocket,
    daemons: List[Govkioskd],
    name: str,
    corrupt: Callable[[Path], None],
) -> None:
    bus = private_bus.address
    key = tmp_path / "keys/backup.key"
    key.parent.mkdir()
    assert ctl(capsys, "backup", "--new-key", str(key))[0] == 0
    medium = tmp_path / "medium"
    extra = f'\n[backup]\ndir = "{medium}"\nkey_file = "{key}"\npackages = []\n'
    daemon = kiosk_with_history(tmp_path, bus, capsys, notify=notify, extra=extra, daemons=daemons)
    before = history(capsys, bus)
    assert before != []
    state = daemon.directory / "state"
    status, _, err = ctl(
        capsys, "backup", "--config", str(daemon.config), "--state-dir", str(state)
    )
    assert status == 0, err
    (archive,) = backups(medium)
    daemon.stop()
    corrupt(state / DB_NAME)

    start(daemon, notify)
    assert history(capsys, bus) == before
    daemon.stop()
    out = (daemon.directory / "govkioskd-2.log").read_text(encoding="utf-8")
    assert f"restored from backup {archive.name}" in out
    assert len(list(state.glob(DB_NAME + DAMAGED + "*"))) >= 1


def test_the_alarm_names_what_was_done(tmp_path: Path) -> None:
    """In the daemon's process: the alarm the recovery raises (ops and the maintenance
    screen hear it), and an unusable backup is passed over for a rebuild."""
    config = tmp_path / "govkiosk.toml"
    config.write_text(
        '[kiosk]\nid = "test-hlj-0001"\nname = "测试"\n[devices.usb]\nseal = false\n'
        f'[backup]\ndir = "{tmp_path / "medium"}"\nkey_file = "{tmp_path / "no.key"}"\n',
        encoding="utf-8",
    )
    state = tmp_path / "state"
    state.mkdir()
    (state / DB_NAME).write_bytes(b"")

    async def run() -> List[Alarm]:
        bus_dir = tmp_path / "dbus"
        private = PrivateBus(bus_dir)
        try:
            daemon = Daemon(config, load_config(config), state, bus_address=private.address)
            alarms: List[Alarm] = []
            damaged = asyncio.Event()

            def on_alarm(alarm: Alarm) -> None:
                alarms.append(alarm)
                if alarm.code == "database_damaged":
                    damaged.set()

            daemon.bus.subscribe(Alarm, on_alarm)
            running = asyncio.ensure_future(daemon.run())
            await asyncio.wait_for(damaged.wait(), READY)
            daemon.request_stop()
            assert await asyncio.wait_for(running, READY) == 0
            return alarms
        finally:
            private.stop()

    alarms = asyncio.run(run())
    (alarm,) = [a for a in alarms if a.code == "database_damaged"]
    assert alarm.source == "store"
    assert "the file is empty" in alarm.message
    assert "rebuilt empty" in alarm.message


def test_damage_found_by_a_failing_statement_is_reported_once(tmp_path: Path) -> None:
    async def run() -> List[str]:
        store = Store(tmp_path)
        seen: List[str] = []
        store.on_damage = seen.append
        await store.open()
        await store.execute("CREATE TABLE t (x BLOB)")
        for _ in range(50):
            await store.execute("INSERT INTO t VALUES (?)", (os.urandom(2000),))
        await store.call(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
        await store.close()
        # Damaged under an open connection: pages overwritten on disk.
        store = Store(tmp_path)
        store.on_damage = seen.append
        await store.open()
        scribble(store.path)
        for _ in range(2):
            with pytest.raises(sqlite3.DatabaseError):
                await store.fetchall("SELECT sum(length(x)) FROM t")
        await store.close()
        return seen

    seen = asyncio.run(run())
    assert len(seen) == 1
    assert "malformed" in seen[0] or "not a database" in seen[0]


def test_a_file_of_zeros_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"\x00" * 8192)

    async def run() -> str:
        store = Store(tmp_path)
        await store.open()
        await store.execute("CREATE TABLE t (x INTEGER)")
        recovery = store.recovery
        await store.close()
        return recovery

    recovery = asyncio.run(run())
    assert "moved aside" in recovery
    assert "rebuilt empty" in recovery
    assert damage(tmp_path / DB_NAME) == ""
    (aside,) = tmp_path.glob(DB_NAME + DAMAGED + "*")
    assert aside.read_bytes() == b"\x00" * 8192  # kept for a post-mortem, untouched
