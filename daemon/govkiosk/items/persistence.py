"""The lifecycle's ledger in SQLite: published items, change requests and the audit (§8 e).

Nothing here is personal: items, applications, evaluations and test records describe
services, never citizens. Each outcome is written in one transaction, before the
registry swaps its ledger, so the database and the running kiosk never disagree.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Sequence, Tuple

from ..store import Store
from .catalogue import item_from_document, item_json
from .documents import request_document, request_from_document
from .lifecycle import OPEN_STATES, AuditEntry, Ledger, Outcome

COMPONENT = "items"

MIGRATIONS = [
    """
    CREATE TABLE items_published (
        code    TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        item    TEXT NOT NULL
    );
    CREATE TABLE items_requests (
        id       INTEGER PRIMARY KEY,
        code     TEXT NOT NULL,
        kind     TEXT NOT NULL,
        state    TEXT NOT NULL,
        version  INTEGER NOT NULL,
        document TEXT NOT NULL
    );
    CREATE INDEX items_requests_state ON items_requests (state);
    CREATE TABLE items_audit (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         REAL NOT NULL,
        code       TEXT NOT NULL,
        request_id INTEGER,
        action     TEXT NOT NULL,
        role       TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state   TEXT NOT NULL,
        version    INTEGER NOT NULL,
        detail     TEXT NOT NULL
    );
    CREATE INDEX items_audit_code ON items_audit (code, id)
    """
]


class LedgerStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self) -> Optional[Ledger]:
        """The stored ledger; ``None`` if the lifecycle has never run on this kiosk."""
        await self._store.migrate(COMPONENT, MIGRATIONS)
        if not await self._store.fetchall("SELECT id FROM items_audit LIMIT 1"):
            return None
        published = {
            row["code"]: item_from_document(json.loads(row["item"]), "the state database")
            for row in await self._store.fetchall("SELECT code, item FROM items_published")
        }
        marks = ",".join("?" * len(OPEN_STATES))
        rows = await self._store.fetchall(
            f"SELECT document FROM items_requests WHERE state IN ({marks})",
            [s.value for s in OPEN_STATES],
        )
        requests = [request_from_document(json.loads(row["document"])) for row in rows]
        versions = await self._store.fetchall(
            "SELECT code, MAX(version) AS version FROM items_audit"
            " WHERE to_state = 'published' GROUP BY code"
        )
        last_id = await self._store.fetchall("SELECT MAX(id) AS id FROM items_requests")
        return Ledger(
            published=published,
            open={r.code: r for r in requests},
            last_version={row["code"]: row["version"] for row in versions},
            next_id=(last_id[0]["id"] or 0) + 1,
        )

    async def save(self, before: Ledger, outcome: Outcome) -> None:
        after = outcome.ledger
        statements: List[Tuple[str, Sequence[Any]]] = [
            ("DELETE FROM items_published WHERE code = ?", [code])
            for code in before.published
            if code not in after.published
        ]
        statements.extend(
            (
                "INSERT OR REPLACE INTO items_published VALUES (?, ?, ?)",
                [code, item.version, item_json(item)],
            )
            for code, item in after.published.items()
            if before.published.get(code) != item
        )
        statements.extend(
            (
                "INSERT OR REPLACE INTO items_requests VALUES (?, ?, ?, ?, ?, ?)",
                [
                    r.id,
                    r.code,
                    r.kind.value,
                    r.state.value,
                    r.version,
                    json.dumps(request_document(r), ensure_ascii=False),
                ],
            )
            for r in outcome.requests
        )
        statements.extend(
            (
                "INSERT INTO items_audit (at, code, request_id, action, role, from_state,"
                " to_state, version, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    e.at,
                    e.code,
                    e.request_id,
                    e.action,
                    e.role,
                    e.from_state,
                    e.to_state,
                    e.version,
                    json.dumps(dict(e.detail), ensure_ascii=False, sort_keys=True),
                ],
            )
            for e in outcome.audit
        )
        await self._store.transaction(statements)

    async def history(self, code: str) -> List[AuditEntry]:
        rows = await self._store.fetchall(
            "SELECT * FROM items_audit WHERE code = ? ORDER BY id", [code]
        )
        return [
            AuditEntry(
                code=row["code"],
                action=row["action"],
                role=row["role"],
                request_id=row["request_id"],
                from_state=row["from_state"],
                to_state=row["to_state"],
                version=row["version"],
                detail=json.loads(row["detail"]),
                at=row["at"],
            )
            for row in rows
        ]
