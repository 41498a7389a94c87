"""The ops log (§8 e): alarms, commands and their results, backups and restores, for
``ops_log.tail`` and audits.

Only codes and operational details go in; command parameters named like secrets
(``token``, ``password``, ``key``) are withheld. No personal data (§8 d).

Append-only with a hash chain: each row carries ``prev``, the hash of the row before,
and ``hash``, the SHA-256 of its own canonical JSON (``at``, ``kind``, ``code``,
``detail``, ``prev``). Changing, removing or reordering a row breaks the chain at that
row, which :func:`verify` reports. The table is bounded: once it holds more than
``limit`` rows the oldest go (rotation), and in the same transaction the hash of the
last row removed is kept as the anchor (``ops_meta`` ``ops_log.anchor``) that the first
remaining row must carry. Every writer — the daemon, ``govkioskctl backup`` and
``restore`` — appends with :func:`append_row` inside ``BEGIN IMMEDIATE``, so writers in
two processes never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ..bus import AdminAction, ConfigReloaded, Event, EventBus, EventStream
from ..errors import GovkioskError
from ..store import DB_NAME, Store
from ..supervisor import Service
from . import schema

_LOGGER = logging.getLogger(__name__)

SECRET_NAMES = ("token", "password", "secret", "key")
ANCHOR = "ops_log.anchor"
#: How many appends between two rotations.
TRIM_EVERY = 100


def withheld(params: Mapping[str, Any]) -> Dict[str, Any]:
    """``params`` with the values of secret-looking names replaced."""
    return {
        k: "<withheld>" if any(s in k.lower() for s in SECRET_NAMES) else v
        for k, v in params.items()
    }


def canonical(value: Any) -> bytes:
    """The bytes a record's hash is taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def record_hash(at: float, kind: str, code: str, detail: str, prev: str) -> str:
    body = {"at": at, "kind": kind, "code": code, "detail": detail, "prev": prev}
    return hashlib.sha256(canonical(body)).hexdigest()


def append_row(
    conn: sqlite3.Connection,
    at: float,
    kind: str,
    code: str,
    detail: Mapping[str, Any],
    *,
    limit: int = 0,
) -> str:
    """Append one chained row (and rotate down to ``limit`` rows if given); its hash.

    ``conn`` is in autocommit mode (``isolation_level=None``), as the store's is.
    """
    text = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
    conn.execute("BEGIN IMMEDIATE")
    try:
        prev = _last_hash(conn)
        digest = record_hash(at, kind, code, text, prev)
        conn.execute(
            "INSERT INTO ops_log (at, kind, code, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
            (at, kind, code, text, prev, digest),
        )
        if limit:
            _rotate(conn, limit)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return digest


def _last_hash(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT hash FROM ops_log ORDER BY id DESC LIMIT 1").fetchone()
    if row is not None:
        return str(row[0])
    return _anchor(conn)


def _anchor(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM ops_meta WHERE name = ?", (ANCHOR,)).fetchone()
    return str(row[0]) if row is not None else ""


def _rotate(conn: sqlite3.Connection, limit: int) -> None:
    cut = conn.execute(
        "SELECT id, hash FROM ops_log WHERE id <= (SELECT MAX(id) FROM ops_log) - ?"
        " ORDER BY id DESC LIMIT 1",
        (limit,),
    ).fetchone()
    if cut is None:
        return
    conn.execute("INSERT OR REPLACE INTO ops_meta (name, value) VALUES (?, ?)", (ANCHOR, cut[1]))
    conn.execute("DELETE FROM ops_log WHERE id <= ?", (cut[0],))


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: ``broken`` is the first bad row's id, or None."""

    checked: int
    broken: Optional[int] = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_rows(rows: Sequence[Sequence[Any]], anchor: str) -> Verdict:
    """Check ``(id, at, kind, code, detail, prev, hash)`` rows, in id order, from ``anchor``."""
    expected = anchor
    # Rows written before the chain existed (an upgraded kiosk) lead, unchained.
    legacy = 0
    while legacy < len(rows) and rows[legacy][6] == "" and not anchor:
        legacy += 1
    rows = rows[legacy:]
    for checked, (row_id, at, kind, code, detail, prev, digest) in enumerate(rows):
        if prev != expected:
            what = "the first row after rotation" if checked == 0 and anchor else "the row before"
            return Verdict(checked, row_id, f"prev does not match the hash of {what}")
        if record_hash(at, kind, code, detail, prev) != digest:
            return Verdict(checked, row_id, "its contents do not match its hash")
        expected = digest
    return Verdict(len(rows))


def verify_connection(conn: sqlite3.Connection) -> Verdict:
    rows = conn.execute(
        "SELECT id, at, kind, code, detail, prev, hash FROM ops_log ORDER BY id"
    ).fetchall()
    return verify_rows(rows, _anchor(conn))


def verify(state_dir: Path) -> Verdict:
    """Check the chain in ``state_dir``'s database, read-only."""
    conn = sqlite3.connect(f"file:{state_dir / DB_NAME}?mode=ro", uri=True)
    try:
        return verify_connection(conn)
    finally:
        conn.close()


class OpsLog:
    def __init__(
        self, store: Store, limit: int = 10000, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._limit = limit
        self._clock = clock
        self._since_trim = 0
        self._ready = False

    async def prepare(self) -> None:
        """Create the table if need be (records come with or without the ops link)."""
        await self._ensure()

    async def _ensure(self) -> None:
        if not self._ready:
            await self._store.migrate(schema.COMPONENT, schema.MIGRATIONS)
            self._ready = True

    async def append(self, kind: str, code: str, detail: Mapping[str, Any]) -> str:
        """Append one record; its hash."""
        await self._ensure()
        self._since_trim += 1
        limit = 0
        if self._since_trim >= TRIM_EVERY:
            self._since_trim = 0
            limit = self._limit
        at = self._clock()
        return await self._store.call(
            lambda conn: append_row(conn, at, kind, code, detail, limit=limit)
        )

    async def tail(self, lines: int, kind: str = "") -> List[Dict[str, Any]]:
        await self._ensure()
        rows = await self._store.fetchall(
            "SELECT at, kind, code, detail, hash FROM ops_log WHERE ? = '' OR kind = ?"
            " ORDER BY id DESC LIMIT ?",
            (kind, kind, lines),
        )
        return [
            {"at": at, "kind": k, "code": code, "detail": json.loads(detail), "hash": digest}
            for at, k, code, detail, digest in reversed(rows)
        ]

    async def verify(self) -> Verdict:
        await self._ensure()
        return await self._store.call(verify_connection)


class AdminRecorder(Service):
    """Writes every :class:`AdminAction` and configuration reload to the ops log, in the
    order they happened, whether or not the ops link is configured."""

    name = "oplog"

    def __init__(self, bus: EventBus, oplog: OpsLog) -> None:
        self._oplog = oplog
        # Subscribed from the start: actions during boot wait here.
        self._stream: EventStream[Event] = bus.stream(AdminAction, ConfigReloaded, maxsize=1024)

    async def start(self) -> None:
        await self._oplog.prepare()

    async def serve(self) -> None:
        while True:
            await self._write(await self._stream.get())

    async def stop(self) -> None:
        # What came in just before the daemon stops still goes in (a logout, a reload).
        try:
            for event in self._stream.drain():
                await self._write(event)
        except (sqlite3.Error, GovkioskError) as err:
            _LOGGER.warning("ops log: records lost at stop: %s", err)

    async def _write(self, event: Event) -> None:
        if isinstance(event, AdminAction):
            await self._oplog.append(event.kind, event.code, event.detail)
        elif isinstance(event, ConfigReloaded):
            await self._oplog.append("config", "reloaded", {"files": list(event.files)})
