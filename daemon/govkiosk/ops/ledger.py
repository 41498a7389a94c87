"""The replay cache and idempotency record of accepted commands.

Kept in memory for speed and in SQLite so that a restart neither forgets a nonce (a
replay after a reboot would otherwise pass) nor runs a command twice. An entry lives
until its command expires plus the clock-skew allowance: after that the validity
check refuses the command anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from ..store import Store
from .envelope import Command


@dataclass
class Entry:
    nonce: str
    digest: str
    expires_at: float
    reply: Optional[bytes]  #: the signed final reply once known


class Ledger:
    def __init__(self, store: Store, skew: float) -> None:
        self._store = store
        self._skew = skew
        self._entries: Dict[str, Entry] = {}
        self._nonces: Dict[str, str] = {}  # nonce → cmd_id

    async def load(self, now: float) -> None:
        await self.purge(now)
        rows = await self._store.fetchall(
            "SELECT cmd_id, nonce, digest, expires_at, reply FROM ops_command"
        )
        self._entries = {r[0]: Entry(r[1], r[2], r[3], r[4]) for r in rows}
        self._nonces = {e.nonce: cmd_id for cmd_id, e in self._entries.items()}

    def get(self, cmd_id: str) -> Optional[Entry]:
        return self._entries.get(cmd_id)

    def nonce_used(self, nonce: str) -> bool:
        return nonce in self._nonces

    async def record(self, command: Command) -> None:
        entry = Entry(command.nonce, command.digest(), command.expires_at + self._skew, None)
        self._entries[command.cmd_id] = entry
        self._nonces[command.nonce] = command.cmd_id
        await self._store.execute(
            "INSERT INTO ops_command VALUES (?, ?, ?, ?, NULL)",
            (command.cmd_id, entry.nonce, entry.digest, entry.expires_at),
        )

    async def finish(self, cmd_id: str, reply: bytes) -> None:
        entry = self._entries.get(cmd_id)
        if entry is not None:
            entry.reply = reply
        await self._store.execute(
            "UPDATE ops_command SET reply = ? WHERE cmd_id = ?", (reply, cmd_id)
        )

    async def purge(self, now: float) -> None:
        for cmd_id in [c for c, e in self._entries.items() if e.expires_at < now]:
            self._nonces.pop(self._entries.pop(cmd_id).nonce, None)
        await self._store.execute("DELETE FROM ops_command WHERE expires_at < ?", (now,))
