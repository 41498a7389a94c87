"""SQLite storage for non-personal state (§8 d: nothing about citizens goes here).

One connection in WAL mode, used from one worker thread so that the event loop
never waits on the disk. Subsystems bring their own tables as numbered migrations:
``await store.migrate("usbseal", [V1_SQL, V2_SQL])`` applies those not yet applied.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

from .errors import GovkioskError

T = TypeVar("T")

DB_NAME = "govkiosk.sqlite3"
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

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(_CORE_SCHEMA)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"cannot open {self.path}: {err}") from err
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        # Joining the worker thread is itself blocking: not on the event loop.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the state database is not open")
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the new row id (for an INSERT) or 0."""

        def run() -> int:
            with self._connection() as conn:
                return conn.execute(sql, params).lastrowid or 0

        return await self._run(run)

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

        await self._run(run)

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
