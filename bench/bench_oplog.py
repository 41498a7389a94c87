"""The ops log chain and the encrypted backup (§8 e): append rate through the store,
``oplog verify`` over a full log, and backup/restore time and size for that database."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

from govkiosk.backup.settings import BackupSettings
from govkiosk.backup.snapshot import make_backup, new_key, read_key, restore
from govkiosk.ops.oplog import OpsLog, verify
from govkiosk.store import DB_NAME, Store

RECORDS = 10000


async def _fill(state: Path) -> float:
    store = Store(state)
    await store.open()
    try:
        oplog = OpsLog(store, limit=RECORDS)
        started = time.perf_counter()
        for n in range(RECORDS):
            await oplog.append("command", "status", {"n": n, "role": "viewer", "status": "done"})
        return time.perf_counter() - started
    finally:
        await store.close()


def run() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        state, etc = root / "state", root / "etc"
        etc.mkdir()
        (etc / "govkiosk.toml").write_text('[kiosk]\nid = "bench"\n', encoding="utf-8")
        keys = root / "keys"
        keys.mkdir()
        (keys / "backup.key").write_text(new_key(), encoding="ascii")
        appended = asyncio.run(_fill(state))
        started = time.perf_counter()
        verdict = verify(state)
        verified = time.perf_counter() - started
        assert verdict.ok
        settings = BackupSettings(
            dir=str(root / "backups"), key_file=str(keys / "backup.key"), packages=()
        )
        started = time.perf_counter()
        archive = make_backup(state, etc, settings, datetime.now(timezone.utc))
        backed_up = time.perf_counter() - started
        started = time.perf_counter()
        restore(archive, read_key(keys / "backup.key"), root / "new/state", root / "new/etc")
        restored = time.perf_counter() - started
        return {
            "records": RECORDS,
            "append_per_s": round(RECORDS / appended),
            "verify_ms": round(verified * 1000, 1),
            "database_kib": round((state / DB_NAME).stat().st_size / 1024),
            "archive_kib": round(archive.stat().st_size / 1024),
            "backup_ms": round(backed_up * 1000, 1),
            "restore_ms": round(restored * 1000, 1),
        }
