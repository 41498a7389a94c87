"""SQLite storage for non-personal state (§8 d: nothing about citizens goes here).

One connection in WAL mode, used from one worker thread so that the event loop
never waits on the disk. A damaged database (an empty file, a truncated one, pages
overwritten: SQLite's ``quick_check`` or the open itself fails) is found at open and
moved aside under its time (``govkiosk.sqlite3.damaged-20261206T170300Z``), then
restored from the latest backup when the daemon can (``Store.restore``), else rebuilt
empty; ``Store.recovery`` says what happened, for the alarm. The daemon never stays
down on a damaged file. Subsystems bring their own tables as numbered migrations:
``await store.migrate("usbseal", [V1_SQL, V2_SQL])`` applies those not yet applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from .errors import GovkioskError

T = TypeVar("T")
_LOGGER = logging.getLogger(__name__)

DB_NAME = "govkiosk.sqlite3"
#: A damaged database is renamed to its name plus this and the UTC time it was found.
DAMAGED = ".damaged-"
#: Beside the database: SQLite's write-ahead log and its index.
_COMPANIONS = ("-wal", "-shm")
#: SQLite's primary result codes for a damaged file (``sqlite3`` names them from 3.11 on).
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 11, 13, 26
#: Where the packaged daemon keeps its state (``--state-dir``).
DEFAULT_STATE_DIR = Path("/var/lib/govkiosk")

_CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
);
"""


class StoreError(GovkioskError):
    """The state database cannot be opened or used."""


class Store:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_NAME
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._conn: Optional[sqlite3.Connection] = None
        #: Puts a good database at the path it is given from a backup; the backup's name,
        #: or ``""`` when there is none to restore (the daemon wires ``backup``'s in).
        self.restore: Optional[Callable[[Path], str]] = None
        #: What :meth:`open` found and did about a damaged database; ``""``: nothing.
        self.recovery = ""
        #: Called once (on the loop) when a statement finds the open database damaged;
        #: the daemon alarms and restarts, and the next :meth:`open` recovers.
        self.on_damage: Optional[Callable[[str], None]] = None
        self._damaged = False
        #: Called (on the loop) with ``True`` when a write first fails for want of space,
        #: and with ``False`` when a write succeeds again: the daemon alarms and clears.
        self.on_full: Optional[Callable[[bool], None]] = None
        self.full = False

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            problem = damage(self.path)
            if problem:
                self.recovery = self._recover(problem)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_CORE_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"cannot open {self.path}: {err}") from err
        self._conn = conn

    def _recover(self, problem: str) -> str:
        """Move the damaged database aside, put the latest backup's in its place if there
        is one, else leave the place empty (a new database); what was done, in a line."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(self.path.name + DAMAGED + stamp)
        for companion in ("", *_COMPANIONS):
            source = self.path.with_name(self.path.name + companion)
            if source.exists():
                os.replace(source, aside.with_name(aside.name + companion))
        done = f"the state database was damaged ({problem}); moved aside as {aside.name}"
        restored = ""
        if self.restore is not None:
            try:
                restored = self.restore(self.path)
            except Exception:  # any failure of a restore leaves a new, empty database
                _LOGGER.exception("restoring the state database from a backup failed")
                restored = ""
            if restored and damage(self.path):
                restored = ""
            if not restored:
                for companion in ("", *_COMPANIONS):
                    _unlink(self.path.with_name(self.path.name + companion))
        if restored:
            done += f"; restored from backup {restored} (changes since then are lost)"
        else:
            done += "; no usable backup: rebuilt empty (usage statistics and ops log lost)"
        _LOGGER.error("%s", done)
        return done

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        # Joining the worker thread is itself blocking: not on the event loop.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.DatabaseError as err:
            if is_full(err):
                self._set_full(True, str(err))
            elif is_damage(err) and not self._damaged:
                self._damaged = True
                _LOGGER.error("the state database is damaged: %s", err)  # noqa: TRY400 - said, not a bug
                if self.on_damage is not None:
                    self.on_damage(str(err))
            raise
        except OSError as err:
            if err.errno == errno.ENOSPC:
                self._set_full(True, str(err))
            raise

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """``_run`` for a statement that writes: its success ends a full disk's alarm."""
        result = await self._run(fn, *args)
        if self.full:
            self._set_full(False, "")
        return result

    def _set_full(self, full: bool, why: str) -> None:
        if full == self.full:
            return
        self.full = full
        if full:
            _LOGGER.error("the state database cannot be written: %s", why)
        else:
            _LOGGER.info("the state database is written again")
        if self.on_full is not None:
            self.on_full(full)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the state database is not open")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the new row id (for an INSERT) or 0."""

        def run() -> int:
            with self._connection() as conn:
                return conn.execute(sql, params).lastrowid or 0

        return await self._write(run)

    async def transaction(self, statements: Sequence[Tuple[str, Sequence[Any]]]) -> None:
        """Run ``(sql, params)`` statements all or none: a crash never leaves half a change."""

        def run() -> None:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._write(run)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store's thread (for work that reads then writes)."""
        return await self._run(lambda: fn(self._connection()))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> List[sqlite3.Row]:
        def run() -> List[sqlite3.Row]:
            cursor = self._connection().execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

        return await self._run(run)

    async def migrate(self, component: str, steps: Sequence[str]) -> None:
        """Apply the steps of ``component``'s schema that this database lacks, in order."""

        def run() -> None:
            conn = self._connection()
            row = conn.execute(
                "SELECT version FROM schema_version WHERE component = ?", (component,)
            ).fetchone()
            current = row[0] if row else 0
            for version, sql in enumerate(steps[current:], start=current + 1):
                conn.execute("BEGIN")
                try:
                    for statement in sql.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(
                        "INSERT OR REPLACE INTO schema_version VALUES (?, ?)", (component, version)
                    )
                except sqlite3.Error:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

        await self._run(run)


def damage(path: Path) -> str:
    """What is wrong with the SQLite database at ``path``; ``""`` when it is sound or
    absent (a new install). An empty file counts as damage: SQLite would take it for a
    new database, and the history it held would be lost without a word."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return ""
    if size == 0:
        return "the file is empty"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as err:
        return str(err)
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as err:
        return str(err)
    finally:
        conn.close()
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    return "; ".join(problems)


def is_full(err: sqlite3.DatabaseError) -> bool:
    """Whether SQLite's error says the disk (or the file's size limit) is full."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == _SQLITE_FULL)
    return "disk is full" in str(err)


def is_damage(err: sqlite3.DatabaseError) -> bool:
    """Whether SQLite's error says the file is damaged (not merely busy or full)."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(err)
    return "malformed" in text or "not a database" in text


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
