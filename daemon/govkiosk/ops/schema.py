"""The ops tables in the daemon's SQLite store (never personal data, §8 d).

- ``ops_command``: the replay cache and the idempotency record, one row per accepted
  command, kept until it expires (§8 e keeps the lasting trace in ``ops_log``).
- ``ops_log``: what happened — alarms, commands, results — for ``ops_log.tail`` and
  audits (§8 e). Parameters are stored with secrets withheld.
  Each row carries the previous row's hash and its own (``prev``, ``hash``): a hash
  chain that ``govkioskctl oplog verify`` checks; ``ops_meta`` ``ops_log.anchor`` holds
  the hash of the last row rotated away, so rotation keeps the chain.
- ``ops_outbox``: messages produced while the broker was out of reach, oldest first.
- ``ops_meta``: small counters (messages dropped from a full outbox) and the shadow's
  applied versions.
"""

from __future__ import annotations

COMPONENT = "ops"

MIGRATIONS = [
    """
    CREATE TABLE ops_command (
        cmd_id     TEXT PRIMARY KEY,
        nonce      TEXT NOT NULL UNIQUE,
        digest     TEXT NOT NULL,
        expires_at REAL NOT NULL,
        reply      BLOB
    );
    CREATE INDEX ops_command_expiry ON ops_command (expires_at);
    CREATE TABLE ops_log (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     REAL NOT NULL,
        kind   TEXT NOT NULL,
        code   TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE ops_outbox (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        topic   TEXT NOT NULL,
        payload BLOB NOT NULL,
        retain  INTEGER NOT NULL
    );
    CREATE TABLE ops_meta (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    """
    ALTER TABLE ops_log ADD COLUMN prev TEXT NOT NULL DEFAULT '';
    ALTER TABLE ops_log ADD COLUMN hash TEXT NOT NULL DEFAULT ''
    """,
]
