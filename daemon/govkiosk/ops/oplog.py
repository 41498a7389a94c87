"""The ops log (§8 e): alarms, commands and their results, for ``ops_log.tail`` and audits.

Only codes and operational details go in; command parameters named like secrets
(``token``, ``password``, ``key``) are withheld. A bounded table: the oldest rows go
once it holds more than ``limit``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, List, Mapping

from ..store import Store

SECRET_NAMES = ("token", "password", "secret", "key")


def withheld(params: Mapping[str, Any]) -> Dict[str, Any]:
    """``params`` with the values of secret-looking names replaced."""
    return {
        k: "<withheld>" if any(s in k.lower() for s in SECRET_NAMES) else v
        for k, v in params.items()
    }


class OpsLog:
    def __init__(
        self, store: Store, limit: int = 10000, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._limit = limit
        self._clock = clock
        self._since_trim = 0

    async def append(self, kind: str, code: str, detail: Mapping[str, Any]) -> None:
        text = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)
        await self._store.execute(
            "INSERT INTO ops_log (at, kind, code, detail) VALUES (?, ?, ?, ?)",
            (self._clock(), kind, code, text),
        )
        self._since_trim += 1
        if self._since_trim >= 100:
            self._since_trim = 0
            await self._store.execute(
                "DELETE FROM ops_log WHERE id <= (SELECT MAX(id) FROM ops_log) - ?", (self._limit,)
            )

    async def tail(self, lines: int, kind: str = "") -> List[Dict[str, Any]]:
        rows = await self._store.fetchall(
            "SELECT at, kind, code, detail FROM ops_log WHERE ? = '' OR kind = ?"
            " ORDER BY id DESC LIMIT ?",
            (kind, kind, lines),
        )
        return [
            {"at": at, "kind": k, "code": code, "detail": json.loads(detail)}
            for at, k, code, detail in reversed(rows)
        ]
